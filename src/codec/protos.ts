/**
 * The protobuf schemas this library needs, bundled as text so nothing is read
 * from disk or from google-gax at run time: well-known types, `google.rpc`
 * status and error details, and `google.longrunning`.
 * @module
 */
import protobuf from 'protobufjs';

const WELL_KNOWN = `
syntax = "proto3";
package google.protobuf;
message Any { string type_url = 1; bytes value = 2; }
message Empty {}
message Duration { int64 seconds = 1; int32 nanos = 2; }
message Timestamp { int64 seconds = 1; int32 nanos = 2; }
message FieldMask { repeated string paths = 1; }
enum NullValue { NULL_VALUE = 0; }
message Struct { map<string, Value> fields = 1; }
message Value {
  oneof kind {
    NullValue null_value = 1;
    double number_value = 2;
    string string_value = 3;
    bool bool_value = 4;
    Struct struct_value = 5;
    ListValue list_value = 6;
  }
}
message ListValue { repeated Value values = 1; }
message DoubleValue { double value = 1; }
message FloatValue { float value = 1; }
message Int64Value { int64 value = 1; }
message UInt64Value { uint64 value = 1; }
message Int32Value { int32 value = 1; }
message UInt32Value { uint32 value = 1; }
message BoolValue { bool value = 1; }
message StringValue { string value = 1; }
message BytesValue { bytes value = 1; }
`;

const RPC = `
syntax = "proto3";
package google.rpc;
import "google/protobuf/any.proto";
import "google/protobuf/duration.proto";
message Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }
message ErrorInfo { string reason = 1; string domain = 2; map<string, string> metadata = 3; }
message RetryInfo { google.protobuf.Duration retry_delay = 1; }
message DebugInfo { repeated string stack_entries = 1; string detail = 2; }
message QuotaFailure {
  message Violation {
    string subject = 1; string description = 2; string api_service = 3; string quota_metric = 4;
    string quota_id = 5; map<string, string> quota_dimensions = 6; int64 quota_value = 7;
    optional int64 future_quota_value = 8;
  }
  repeated Violation violations = 1;
}
message PreconditionFailure {
  message Violation { string type = 1; string subject = 2; string description = 3; }
  repeated Violation violations = 1;
}
message BadRequest {
  message FieldViolation {
    string field = 1; string description = 2; string reason = 3; LocalizedMessage localized_message = 4;
  }
  repeated FieldViolation field_violations = 1;
}
message RequestInfo { string request_id = 1; string serving_data = 2; }
message ResourceInfo { string resource_type = 1; string resource_name = 2; string owner = 3; string description = 4; }
message Help {
  message Link { string description = 1; string url = 2; }
  repeated Link links = 1;
}
message LocalizedMessage { string locale = 1; string message = 2; }
`;

const LONGRUNNING = `
syntax = "proto3";
package google.longrunning;
import "google/protobuf/any.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/empty.proto";
import "google/rpc/status.proto";
service Operations {
  rpc ListOperations(ListOperationsRequest) returns (ListOperationsResponse);
  rpc GetOperation(GetOperationRequest) returns (Operation);
  rpc DeleteOperation(DeleteOperationRequest) returns (google.protobuf.Empty);
  rpc CancelOperation(CancelOperationRequest) returns (google.protobuf.Empty);
  rpc WaitOperation(WaitOperationRequest) returns (Operation);
}
message Operation {
  string name = 1;
  google.protobuf.Any metadata = 2;
  bool done = 3;
  oneof result {
    google.rpc.Status error = 4;
    google.protobuf.Any response = 5;
  }
}
message GetOperationRequest { string name = 1; }
message ListOperationsRequest { string name = 4; string filter = 1; int32 page_size = 2; string page_token = 3; bool return_partial_success = 5; }
message ListOperationsResponse { repeated Operation operations = 1; string next_page_token = 2; repeated string unreachable = 3; }
message CancelOperationRequest { string name = 1; }
message DeleteOperationRequest { string name = 1; }
message WaitOperationRequest { string name = 1; google.protobuf.Duration timeout = 2; }
message OperationInfo { string response_type = 1; string metadata_type = 2; }
`;

let builtin: protobuf.Root | undefined;

/**
 * A new protobufjs Root holding the bundled schemas. Each call returns a fresh
 * Root, so callers may add their own types to it.
 */
export function createBuiltinRoot(): protobuf.Root {
  const root = new protobuf.Root();
  for (const source of [WELL_KNOWN, RPC, LONGRUNNING]) {
    protobuf.parse(source, root, { keepCase: false });
  }
  root.resolveAll();
  return root;
}

/** The shared, resolved Root of bundled schemas. Do not add types to it. */
export function builtinRoot(): protobuf.Root {
  builtin ??= createBuiltinRoot();
  return builtin;
}

/** Looks up a bundled message type by full name (`google.rpc.Status`). */
export function builtinType(fullName: string): protobuf.Type {
  return builtinRoot().lookupType(fullName);
}

/** Full names of the bundled message types that the default registry decodes. */
export const BUILTIN_MESSAGE_PREFIXES = ['google.protobuf.', 'google.rpc.', 'google.longrunning.'] as const;
