/**
 * Malformed protobuf messages are the client's error: INVALID_ARGUMENT, not INTERNAL. grpc-js
 * answers INTERNAL whenever a request deserializer throws, so each method's deserializer is wrapped
 * to hand back a marker instead, and a server interceptor answers a marked message with
 * INVALID_ARGUMENT before any handler sees it.
 */
import { ServerInterceptingCall, ServerListenerBuilder, status, type ServerInterceptor, type ServiceDefinition } from '@grpc/grpc-js';

const MALFORMED = Symbol('malformed protobuf message');

interface Malformed {
  [MALFORMED]: string;
}

const isMalformed = (m: unknown): m is Malformed => typeof m === 'object' && m !== null && MALFORMED in m;

/** The service definition with deserializers that mark, rather than throw on, undecodable messages. */
export function tolerantDeserializers(definition: ServiceDefinition): ServiceDefinition {
  return Object.fromEntries(
    Object.entries(definition).map(([name, method]) => [
      name,
      {
        ...method,
        requestDeserialize: (bytes: Buffer): unknown => {
          try {
            return method.requestDeserialize(bytes);
          } catch (err) {
            return { [MALFORMED]: (err as Error).message } satisfies Malformed;
          }
        },
      },
    ]),
  ) as ServiceDefinition;
}

export const malformedMessageInterceptor: ServerInterceptor = (method, call) =>
  new ServerInterceptingCall(call, {
    start: (next) => {
      next(
        new ServerListenerBuilder()
          .withOnReceiveMessage((message, pass) => {
            if (isMalformed(message)) {
              call.sendStatus({ code: status.INVALID_ARGUMENT, details: `${method.path}: the request is not a valid protobuf message (${message[MALFORMED]})` });
              return;
            }
            pass(message);
          })
          .build(),
      );
    },
  });
