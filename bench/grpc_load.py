"""Sequential or concurrent KServe ModelInfer load with Python grpcio (gRPC C core) for npm run bench.

Usage: grpc_load.py STUB_DIR HOST:PORT INPUTS_JSON_FILE REQUESTS CONCURRENCY
Prints {"p50": ms, "p99": ms, "per_second": n}.
"""
import json
import struct
import sys
import threading
import time

sys.path.insert(0, sys.argv[1])
import grpc  # noqa: E402
import grpc_service_pb2 as pb  # noqa: E402
import grpc_service_pb2_grpc as pb_grpc  # noqa: E402


def main():
    address, inputs = sys.argv[2], json.load(open(sys.argv[3]))
    total, concurrency = int(sys.argv[4]), int(sys.argv[5])
    channel = grpc.insecure_channel(address)
    stub = pb_grpc.GRPCInferenceServiceStub(channel)
    req = pb.ModelInferRequest(model_name="slots")
    for t in inputs:
        req.inputs.add(name=t["name"], datatype=t["datatype"], shape=t["shape"])
        req.raw_input_contents.append(struct.pack(f"<{len(t['data'])}q", *t["data"]))
    for _ in range(200):
        stub.ModelInfer(req)
    latencies, lock, counter = [], threading.Lock(), [0]

    def worker():
        while True:
            with lock:
                if counter[0] >= total:
                    return
                counter[0] += 1
            t0 = time.perf_counter()
            stub.ModelInfer(req)
            dt = (time.perf_counter() - t0) * 1000
            with lock:
                latencies.append(dt)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    seconds = time.perf_counter() - started
    latencies.sort()
    pick = lambda p: latencies[min(len(latencies) - 1, max(0, -(-p * len(latencies) // 100) - 1))]  # noqa: E731
    print(json.dumps({"p50": pick(50), "p99": pick(99), "per_second": total / seconds}))


if __name__ == "__main__":
    main()
