/**
 * gRPC method tables from a .proto text or a protobufjs JSON descriptor, for grpc-js's
 * makeUnaryRequest / makeServerStreamRequest: each method's path, its streaming flags, and the
 * request encoder and response decoder, by protobufjs's reflection (fromObject → encode,
 * decode → toObject with the conversion options).
 *
 * That is what @grpc/proto-loader's PackageDefinition holds, built the same way, without it:
 * proto-loader also loads protobufjs's descriptor extension and builds a descriptor per message,
 * which the calls never use. In a `--lite-mode` process that is 2.2 MiB of RSS, and the CRI proto's
 * load takes 48–54 instead of 19–26 ms, at every start of an agent or a CLI command that talks to
 * containerd or etcd (docs/benchmarks.md).
 * test/unit/package-files.test.ts checks these tables and codecs against proto-loader's own.
 *
 * The .proto text comes through package-files (the package tree, or the single executable's
 * assets, which have no file path to open), so the definitions are the same wherever kubestrap runs.
 */
import protobuf from 'protobufjs';
import { readPackageFile } from './package-files.js';

/** How a .proto is parsed (keepCase) and how its messages convert to and from plain objects. */
export type ProtoOptions = Pick<protobuf.IParseOptions, 'keepCase'> & protobuf.IConversionOptions;

export interface GrpcMethod {
  /** `/<package>.<Service>/<Method>`, the HTTP/2 path. */
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  readonly requestSerialize: (value: object) => Buffer;
  readonly responseDeserialize: (bytes: Buffer) => object;
}

/** A service's methods by name. */
export type GrpcService = Readonly<Record<string, GrpcMethod>>;

/** Every service of a descriptor, by full name (`runtime.v1.RuntimeService`). */
export type GrpcServices = ReadonlyMap<string, GrpcService>;

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function methodOf(service: protobuf.Service, method: protobuf.Method, options: protobuf.IConversionOptions): GrpcMethod {
  const request = method.resolvedRequestType!;
  const response = method.resolvedResponseType!;
  return {
    path: `/${service.fullName.slice(1)}/${method.name}`,
    requestStream: method.requestStream === true,
    responseStream: method.responseStream === true,
    requestSerialize: (value) => asBuffer(request.encode(request.fromObject(value)).finish()),
    responseDeserialize: (bytes) => response.toObject(response.decode(bytes), options),
  };
}

function collectServices(ns: protobuf.NamespaceBase, options: protobuf.IConversionOptions, out: Map<string, GrpcService>): Map<string, GrpcService> {
  for (const nested of ns.nestedArray) {
    if (nested instanceof protobuf.Service) {
      out.set(nested.fullName.slice(1), Object.fromEntries(nested.methodsArray.map((m) => [m.name, methodOf(nested, m, options)])));
    } else if (nested instanceof protobuf.Namespace) {
      collectServices(nested, options, out);
    }
  }
  return out;
}

function servicesOf(root: protobuf.Root, options: ProtoOptions): GrpcServices {
  root.resolveAll();
  const { keepCase: _parseOnly, ...conversion } = options;
  return collectServices(root, conversion, new Map());
}

/** The services of a .proto shipped with the package (`src/cri/api.proto`). */
export function loadPackageProto(rel: string, options: ProtoOptions): GrpcServices {
  const text = readPackageFile(rel).toString('utf8');
  return servicesOf(protobuf.parse(text, { keepCase: options.keepCase ?? false }).root, options);
}

/** The services of a protobufjs JSON descriptor (a small wire-compatible subset written in code). */
export function servicesFromJSON(json: protobuf.INamespace, options: ProtoOptions): GrpcServices {
  return servicesOf(protobuf.Root.fromJSON(json), options);
}

/** One service, or an error naming what the descriptor lacks. */
export function grpcService(services: GrpcServices, service: string, source: string): GrpcService {
  const s = services.get(service);
  if (!s) throw new Error(`${service} missing from ${source}`);
  return s;
}

/** One method of a service, or an error naming what the descriptor lacks. */
export function grpcMethod(services: GrpcServices, service: string, name: string, source: string): GrpcMethod {
  const m = grpcService(services, service, source)[name];
  if (!m) throw new Error(`${service}.${name} missing from ${source}`);
  return m;
}
