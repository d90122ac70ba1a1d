"""Every model of the repository index over KServe gRPC, from Python grpcio with stubs protoc
generates from the KServe proto: metadata for each listed model, and one inference each.

Usage: kserve_grpc_index.py STUB_DIR HOST:PORT HTTP_BASE PLAN_FILE
PLAN_FILE (JSON) maps a model name to {"inputs": [{name, datatype, shape, data}], "parameters": {...}}.
The index comes from REST (`POST /v2/repository/index`; KServe's gRPC service has no index call).
Prints one JSON object: the ready models, each one's metadata, its outputs, and the ready models
the plan has no inputs for. The vitest test compares the outputs with the REST answers.
"""
import json
import struct
import sys
import urllib.request

sys.path.insert(0, sys.argv[1])
import grpc  # noqa: E402
import grpc_service_pb2 as pb  # noqa: E402
import grpc_service_pb2_grpc as pb_grpc  # noqa: E402


def index(http_base):
    req = urllib.request.Request(f"{http_base}/v2/repository/index", data=b"{}", headers={"content-type": "application/json"})
    with urllib.request.urlopen(req) as res:
        return [m["name"] for m in json.load(res) if m["state"] == "ready"]


def set_parameter(params, key, value):
    if isinstance(value, bool):
        params[key].bool_param = value
    elif isinstance(value, int):
        params[key].int64_param = value
    elif isinstance(value, float):
        params[key].double_param = value
    else:
        params[key].string_param = str(value)


def infer_request(name, plan):
    req = pb.ModelInferRequest(model_name=name, id=f"py-{name}")
    for key, value in plan.get("parameters", {}).items():
        set_parameter(req.parameters, key, value)
    for t in plan["inputs"]:
        tensor = req.inputs.add(name=t["name"], datatype=t["datatype"], shape=t["shape"])
        if t["datatype"] == "BYTES":
            tensor.contents.bytes_contents.extend(s.encode("utf-8") for s in t["data"])
        elif t["datatype"] == "FP32":
            tensor.contents.fp32_contents.extend(t["data"])
        elif t["datatype"] == "INT64":
            tensor.contents.int64_contents.extend(t["data"])
        else:
            raise ValueError(f"{name}: datatype {t['datatype']} not handled by this client")
    return req


def decode(output, raw):
    if output.datatype == "BYTES":
        items, offset = [], 0
        while offset < len(raw):
            (n,) = struct.unpack_from("<I", raw, offset)
            items.append(raw[offset + 4:offset + 4 + n].decode("utf-8"))
            offset += 4 + n
        return items
    if output.datatype == "FP32":
        return list(struct.unpack(f"<{len(raw) // 4}f", raw))
    if output.datatype == "INT64":
        return list(struct.unpack(f"<{len(raw) // 8}q", raw))
    raise ValueError(f"datatype {output.datatype} not handled by this client")


def main():
    address, http_base = sys.argv[2], sys.argv[3]
    with open(sys.argv[4], encoding="utf-8") as f:
        plans = json.load(f)
    out = {"ready": index(http_base), "models": {}, "unplanned": []}
    with grpc.insecure_channel(address, options=[("grpc.max_receive_message_length", 64 << 20)]) as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        for name in out["ready"]:
            meta = stub.ModelMetadata(pb.ModelMetadataRequest(name=name))
            entry = {
                "metadata": {
                    "name": meta.name,
                    "platform": meta.platform,
                    "inputs": [[t.name, t.datatype, list(t.shape)] for t in meta.inputs],
                    "outputs": [[t.name, t.datatype, list(t.shape)] for t in meta.outputs],
                },
                "ready": stub.ModelReady(pb.ModelReadyRequest(name=name)).ready,
            }
            if name not in plans:
                out["unplanned"].append(name)
            else:
                res = stub.ModelInfer(infer_request(name, plans[name]))
                entry["infer"] = {"id": res.id, "model_name": res.model_name,
                                  "outputs": {o.name: decode(o, res.raw_output_contents[i]) for i, o in enumerate(res.outputs)}}
            out["models"][name] = entry
    print(json.dumps(out))


if __name__ == "__main__":
    main()
