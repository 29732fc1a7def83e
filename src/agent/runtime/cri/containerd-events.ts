/**
 * containerd's own event stream (containerd.services.events.v1.Events/Subscribe, served on the same
 * socket as the CRI). containerd 1.6 has no CRI GetContainerEvents, but it publishes `/tasks/exit`
 * the moment a task dies; the exit watcher uses it as a trigger only (the exit itself is read through
 * the CRI), so the envelope's payload is never decoded. Any other CRI runtime answers UNIMPLEMENTED.
 */
import * as grpc from '@grpc/grpc-js';
import type { INamespace } from 'protobufjs';
import { grpcMethod, servicesFromJSON, type GrpcMethod } from '../../../util/proto.js';

/** Wire-compatible subset of containerd's events.proto (Any and Timestamp as plain messages). */
const DESCRIPTOR: INamespace = {
  nested: {
    containerd: {
      nested: {
        services: {
          nested: {
            events: {
              nested: {
                v1: {
                  nested: {
                    Events: {
                      methods: {
                        Subscribe: { requestType: 'SubscribeRequest', responseType: 'Envelope', responseStream: true, comment: '' },
                      },
                    },
                    SubscribeRequest: { fields: { filters: { rule: 'repeated', type: 'string', id: 1 } } },
                    Timestamp: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
                    AnyEvent: { fields: { typeUrl: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } },
                    Envelope: {
                      fields: {
                        timestamp: { type: 'Timestamp', id: 1 },
                        namespace: { type: 'string', id: 2 },
                        topic: { type: 'string', id: 3 },
                        event: { type: 'AnyEvent', id: 4 },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};

export interface Envelope {
  namespace: string;
  topic: string;
}

let subscribe: GrpcMethod | undefined;

/** Subscribes to task exits in containerd's CRI namespace; cancel() the stream when done. */
export function subscribeTaskExits(endpoint: string, namespace = 'k8s.io'): { stream: grpc.ClientReadableStream<Envelope>; close(): void } {
  subscribe ??= grpcMethod(
    servicesFromJSON(DESCRIPTOR, { longs: Number, defaults: true }),
    'containerd.services.events.v1.Events',
    'Subscribe',
    'the events descriptor',
  );
  const client = new grpc.Client(endpoint, grpc.credentials.createInsecure());
  const stream = client.makeServerStreamRequest(
    subscribe.path,
    subscribe.requestSerialize,
    subscribe.responseDeserialize as (buf: Buffer) => Envelope,
    { filters: [`topic=="/tasks/exit",namespace=="${namespace}"`] },
    new grpc.Metadata(),
    {},
  );
  return {
    stream,
    close: () => {
      stream.cancel();
      client.close();
    },
  };
}
