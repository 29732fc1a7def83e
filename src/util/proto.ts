/**
 * A shipped .proto file as a @grpc/proto-loader package definition. The text comes through
 * package-files (the package tree, or the single executable's assets, which have no file path for
 * proto-loader's loadSync to open), is parsed by protobufjs and handed to proto-loader as JSON:
 * one way for both, so the definitions are the same wherever kubestrap runs.
 */
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { readPackageFile } from './package-files.js';

export function loadPackageProto(rel: string, options: protoLoader.Options): protoLoader.PackageDefinition {
  const text = readPackageFile(rel).toString('utf8');
  // keepCase is a parse option; the others shape decoding and go to proto-loader
  const { root } = protobuf.parse(text, { keepCase: options.keepCase ?? false });
  return protoLoader.fromJSON(root.toJSON(), options);
}
