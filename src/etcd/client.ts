/**
 * A small etcd v3 client over gRPC with mutual TLS: the Cluster and Maintenance calls of rpc.proto
 * (our subset of etcd's), parsed at run time (src/util/proto.ts) as src/cri parses api.proto.
 * Why not the `etcd3` package: it has the calls, but it ships @grpc/proto-loader 0.7 and loads its
 * proto through `__dirname`, which the esbuild ES-module bundle does not have; five calls do not
 * justify that. Member IDs are uint64: they stay decimal strings here (`longs: String`), shown as hex
 * (etcdctl's spelling) with `hexId`.
 */
import * as grpc from '@grpc/grpc-js';
import { isIP } from 'node:net';
import { checkServerIdentity } from 'node:tls';
import path from 'node:path';
import { packageRoot } from '../util/package-files.js';
import { grpcMethod, loadPackageProto, type GrpcMethod, type GrpcServices, type ProtoOptions } from '../util/proto.js';
import { KubestrapError, type ErrorPlace } from '../errors.js';

/** Decoding options; the interfaces below describe what they produce, so change both together. */
export const ETCD_LOADER_OPTIONS: ProtoOptions = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

export interface EtcdMember {
  /** uint64 member ID, decimal. */
  ID: string;
  /** Empty until the member has started. */
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

export interface EtcdStatus {
  header: { member_id: string; cluster_id: string };
  version: string;
  /** Member ID of the leader this member believes in ("0": none). */
  leader: string;
  raftIndex: string;
  raftTerm: string;
  raftAppliedIndex: string;
  errors: string[];
  isLearner: boolean;
}

/** The client certificate (etcd's healthcheck-client or the apiserver-etcd-client pair) and the etcd CA. */
export interface EtcdTls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** An etcd answer that is not OK: `code` is the gRPC status, `details` etcd's own text ("etcdserver: ..."). */
export class EtcdError extends KubestrapError {
  readonly code: number | undefined;
  readonly details: string;
  constructor(message: string, details: string, code: number | undefined, place: ErrorPlace = {}) {
    super(message, place);
    this.details = details;
    this.code = code;
  }
}

export interface EtcdClient {
  readonly endpoint: string;
  memberAdd(peerURLs: string[], isLearner: boolean): Promise<{ member: EtcdMember; members: EtcdMember[] }>;
  memberRemove(id: string): Promise<EtcdMember[]>;
  /** Linearizable: the answer reflects every committed change (a member just added or removed). */
  memberList(): Promise<EtcdMember[]>;
  memberPromote(id: string): Promise<EtcdMember[]>;
  /** This endpoint's member: its raft progress and the leader it follows. */
  status(): Promise<EtcdStatus>;
  /**
   * Maintenance.Snapshot: the backend as one consistent file (what `etcdctl snapshot save` writes,
   * restorable with `etcdutl snapshot restore`), streamed into `write`; resolves to its size.
   */
  snapshot(write: (chunk: Buffer) => Promise<void> | void): Promise<number>;
  close(): void;
}

/** Where rpc.proto ships, relative to the package root (an asset of the same name in the single executable). */
export const ETCD_PROTO = 'src/etcd/rpc.proto';

/** rpc.proto in the package tree (the drift tests read it). */
export function etcdProtoPath(): string {
  return path.join(packageRoot(), ETCD_PROTO);
}

let definition: GrpcServices | undefined;
function method(service: 'Cluster' | 'Maintenance', name: string): GrpcMethod {
  definition ??= loadPackageProto(ETCD_PROTO, ETCD_LOADER_OPTIONS);
  return grpcMethod(definition, `etcdserverpb.${service}`, name, 'rpc.proto');
}

/** `https://10.0.0.1:2379` → `10.0.0.1:2379` (gRPC's target; the scheme only says TLS). */
export function grpcTarget(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch (err) {
    throw new KubestrapError(`etcd endpoint ${endpoint} is not a URL`, { hint: 'use https://<address>:2379', cause: err });
  }
  if (url.protocol !== 'https:' || !url.port) {
    throw new KubestrapError(`etcd endpoint ${endpoint} must be https://<address>:<port>`, { hint: 'kubestrap talks to etcd with mutual TLS only' });
  }
  return url.host;
}

/** A member ID as etcdctl prints it (hex). */
export function hexId(id: string): string {
  return BigInt(id).toString(16);
}

/** Opens a client on `endpoint`; the connection is made on the first call. */
export function etcdClient(endpoint: string, tls: EtcdTls, options: { timeoutMs?: number } = {}): EtcdClient {
  const target = grpcTarget(endpoint);
  const host = new URL(endpoint).hostname.replace(/^\[(.*)\]$/, '$1');
  // grpc-js sends the target host as TLS SNI, and Node warns (DEP0123) when that is an IP, as
  // kubeadm's endpoints are: name 'localhost' (every etcd server certificate kubeadm makes has it)
  // and check the certificate against the address actually dialled.
  const credentials = grpc.credentials.createSsl(tls.ca, tls.key, tls.cert, {
    checkServerIdentity: (_name, cert) => checkServerIdentity(host, cert),
  });
  const client = new grpc.Client(target, credentials, isIP(host) ? { 'grpc.ssl_target_name_override': 'localhost' } : {});
  const timeoutMs = options.timeoutMs ?? 10_000;
  const call = <Res>(service: 'Cluster' | 'Maintenance', name: string, request: object): Promise<Res> => {
    const m = method(service, name);
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (err: grpc.ServiceError | null, value?: object) => {
          if (err) {
            const details = err.details || err.message;
            reject(new EtcdError(`etcd ${endpoint} ${name}: ${details}`, details, err.code, { cause: err }));
          } else resolve(value as Res);
        },
      );
    });
  };
  type Members = { members: EtcdMember[] };
  return {
    endpoint,
    memberAdd: (peerURLs, isLearner) => call('Cluster', 'MemberAdd', { peerURLs, isLearner }),
    memberRemove: async (id) => (await call<Members>('Cluster', 'MemberRemove', { ID: id })).members,
    memberList: async () => (await call<Members>('Cluster', 'MemberList', { linearizable: true })).members,
    memberPromote: async (id) => (await call<Members>('Cluster', 'MemberPromote', { ID: id })).members,
    status: () => call('Maintenance', 'Status', {}),
    snapshot: (write) => {
      const m = method('Maintenance', 'Snapshot');
      // a snapshot of a large backend takes long: a deadline per call, not per chunk, of 10× the unary one
      const stream = client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, {}, new grpc.Metadata(), {
        deadline: Date.now() + timeoutMs * 10,
      });
      return new Promise<number>((resolve, reject) => {
        let size = 0;
        let pending: Promise<void> = Promise.resolve();
        stream.on('data', (res: { blob: Buffer }) => {
          size += res.blob.length;
          stream.pause();
          pending = pending.then(async () => {
            await write(res.blob);
            stream.resume();
          });
          pending.catch((err: unknown) => stream.destroy(err as Error));
        });
        stream.on('error', (err: grpc.ServiceError) => {
          const details = err.details || err.message;
          reject(new EtcdError(`etcd ${endpoint} Snapshot: ${details}`, details, err.code, { cause: err }));
        });
        stream.on('end', () => void pending.then(() => resolve(size), reject));
      });
    },
    close: () => client.close(),
  };
}
