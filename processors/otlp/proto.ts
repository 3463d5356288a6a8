/**
 * The OTLP protobuf messages of the logs and traces export services, as static protobufjs code generated
 * at install time from the official opentelemetry-proto release (scripts/generate-otlp-proto.mjs writes
 * ./generated/, which git ignores). The one place that names the generated code: the pipeline's decoder
 * (./decode.ts) and the OTLP/HTTP API (api/ingest/otlp-codec.ts) both use it.
 */
import protobuf from 'protobufjs/minimal';
import { opentelemetry } from './generated/otlp';
import { MAX_DOCUMENT_DEPTH } from './document-depth';

/*
 * protobufjs (like protoc) refuses messages nested deeper than 100 levels. An AnyValue level is three
 * message levels (AnyValue, KeyValueList, KeyValue), so a record attribute 32 levels deep, which the API
 * accepts and normalize truncates, would fail the whole Kafka message. The limit is raised to the depth
 * the archive accepts (MAX_DOCUMENT_DEPTH): it still bounds the decoders' recursion. protobufjs keeps one
 * limit per process; raising it only makes other users of protobufjs (the OpenTelemetry SDK) as lenient.
 */
protobuf.util.recursionLimit = Math.max(protobuf.util.recursionLimit, MAX_DOCUMENT_DEPTH);
protobuf.Reader.recursionLimit = Math.max(protobuf.Reader.recursionLimit, MAX_DOCUMENT_DEPTH);

const collector = opentelemetry.proto.collector;

export const ExportLogsServiceRequest = collector.logs.v1.ExportLogsServiceRequest;
export const ExportLogsServiceResponse = collector.logs.v1.ExportLogsServiceResponse;
export const ExportTraceServiceRequest = collector.trace.v1.ExportTraceServiceRequest;
export const ExportTraceServiceResponse = collector.trace.v1.ExportTraceServiceResponse;

/** The whole generated namespace, for code that builds or reads other messages (tests). */
export { opentelemetry };
