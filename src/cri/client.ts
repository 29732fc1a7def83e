/**
 * A typed CRI client over a unix socket: the runtime.v1 RuntimeService and ImageService subset in
 * api.proto, parsed at run time (src/util/proto.ts; no generated code to keep in sync). Calls
 * return promises; GetContainerEvents returns the server stream.
 */
import * as grpc from '@grpc/grpc-js';
import path from 'node:path';
import { packageRoot } from '../util/package-files.js';
import { grpcMethod, grpcService, loadPackageProto, type GrpcService, type GrpcServices, type ProtoOptions } from '../util/proto.js';
import type { ContainerEventResponse, ImageRpcs, Input, RuntimeRpcs } from './types.js';

export type * from './types.js';

/** Decoding options; types.ts describes the shapes they produce, so change both together. */
export const LOADER_OPTIONS: ProtoOptions = {
  keepCase: false,
  longs: Number,
  enums: String,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
};

/** Where api.proto ships, relative to the package root (an asset of the same name in the single executable). */
export const CRI_PROTO = 'src/cri/api.proto';

/** api.proto in the package tree (the drift tests read it). */
export function protoPath(): string {
  return path.join(packageRoot(), CRI_PROTO);
}

let definition: GrpcServices | undefined;
function services(): GrpcServices {
  definition ??= loadPackageProto(CRI_PROTO, LOADER_OPTIONS);
  return definition;
}

function methodsOf(service: string): GrpcService {
  return grpcService(services(), `runtime.v1.${service}`, 'api.proto');
}

export interface CallOptions {
  /** Per-call deadline in milliseconds (default: the client's). */
  timeoutMs?: number;
}

type Api<R> = {
  [K in keyof R as Uncapitalize<K & string>]: R[K] extends [infer Req, infer Res] ? (request?: Input<Req>, options?: CallOptions) => Promise<Res> : never;
};
export type RuntimeApi = Api<RuntimeRpcs> & {
  /** The container event stream; cancel() it when done. */
  getContainerEvents(): grpc.ClientReadableStream<ContainerEventResponse>;
};
export type ImageApi = Api<ImageRpcs>;

export interface CriClient {
  /** The endpoint as given, normalised to `unix:///path`. */
  readonly endpoint: string;
  readonly runtime: RuntimeApi;
  readonly image: ImageApi;
  close(): void;
}

export interface CriClientOptions {
  /** Default deadline for unary calls (default 2 minutes; image pulls may need more). */
  timeoutMs?: number;
}

/** `/run/x.sock` or `unix:///run/x.sock` → `unix:///run/x.sock`. */
export function normaliseEndpoint(endpoint: string): string {
  if (endpoint.startsWith('unix://')) return endpoint;
  if (path.isAbsolute(endpoint)) return `unix://${endpoint}`;
  throw new Error(`CRI endpoint ${endpoint} must be unix:///absolute/path or an absolute socket path`);
}

function unaryApi<R>(client: grpc.Client, service: string, defaultTimeoutMs: number): Api<R> {
  const api: Record<string, (request?: object, options?: CallOptions) => Promise<unknown>> = {};
  for (const [name, method] of Object.entries(methodsOf(service))) {
    if (method.requestStream || method.responseStream) continue;
    const fnName = name.charAt(0).toLowerCase() + name.slice(1);
    api[fnName] = (request = {}, options = {}) =>
      new Promise((resolve, reject) => {
        const deadline = Date.now() + (options.timeoutMs ?? defaultTimeoutMs);
        client.makeUnaryRequest(
          method.path,
          method.requestSerialize,
          method.responseDeserialize,
          request,
          new grpc.Metadata(),
          { deadline },
          (err: grpc.ServiceError | null, value?: unknown) => {
            if (err) reject(new Error(`CRI ${service}.${name}: ${err.details || err.message}`, { cause: err }));
            else resolve(value);
          },
        );
      });
  }
  return api as Api<R>;
}

/** Opens a client on `endpoint`; the connection is made lazily on the first call. */
export function criClient(endpoint: string, options: CriClientOptions = {}): CriClient {
  const target = normaliseEndpoint(endpoint);
  const client = new grpc.Client(target, grpc.credentials.createInsecure(), {
    // containerd rejects messages over 16 MiB; status listings stay far below.
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
  });
  const timeoutMs = options.timeoutMs ?? 120_000;
  const events = grpcMethod(services(), 'runtime.v1.RuntimeService', 'GetContainerEvents', 'api.proto');
  const runtime = {
    ...unaryApi<RuntimeRpcs>(client, 'RuntimeService', timeoutMs),
    getContainerEvents: () =>
      client.makeServerStreamRequest(
        events.path,
        events.requestSerialize,
        events.responseDeserialize as (buf: Buffer) => ContainerEventResponse,
        {},
        new grpc.Metadata(),
        {},
      ),
  };
  return {
    endpoint: target,
    runtime,
    image: unaryApi<ImageRpcs>(client, 'ImageService', timeoutMs),
    close: () => client.close(),
  };
}

/** A CRI nanosecond timestamp as a Date (undefined for 0, "not set"). */
export function criTime(nanos: number): Date | undefined {
  return nanos > 0 ? new Date(Math.floor(nanos / 1e6)) : undefined;
}
