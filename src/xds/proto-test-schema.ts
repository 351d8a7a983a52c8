// The test schema of the reflective decoder's and encoder's wire tests: a proto3 message with
// every scalar kind, repeated, map, optional, oneof and well-known field, and a proto2 one with
// required fields, closed enums, a group and explicit packing.
import protobuf from "protobufjs";

const PROTO3 = `
syntax = "proto3";
package t;
import "google/protobuf/any.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/wrappers.proto";

enum Color { RED = 0; GREEN = 1; BLUE = 2; }
enum Shade { DARK = 3; LIGHT = 4; }

message Inner {
  string s = 1;
  int32 i = 2;
  repeated string tags = 3;
  Inner child = 4;
}

message All {
  string last = 50;
  double d = 1;
  float f = 2;
  int32 i32 = 3;
  uint32 u32 = 4;
  sint32 s32 = 5;
  fixed32 fx32 = 6;
  sfixed32 sfx32 = 7;
  int64 i64 = 8;
  uint64 u64 = 9;
  sint64 s64 = 10;
  fixed64 fx64 = 11;
  sfixed64 sfx64 = 12;
  bool b = 13;
  string s = 14;
  bytes by = 15;
  Color color = 16;
  Shade shade = 17;
  repeated int32 ri32 = 18;
  repeated sint64 rs64 = 19;
  repeated double rd = 20;
  repeated float rf = 21;
  repeated Color rcolor = 22;
  repeated bool rb = 23;
  repeated fixed64 rfx64 = 24;
  repeated bytes rby = 25;
  repeated string rs = 26;
  Inner inner = 27;
  repeated Inner inners = 28;
  map<string, Inner> by_name = 29;
  map<string, string> labels = 30;
  map<int64, string> by_id = 31;
  map<bool, Color> flags = 32;
  map<uint32, bytes> blobs = 33;
  optional int32 opt = 34;
  optional string opt_s = 35;
  oneof choice {
    string text = 36;
    Inner detail = 37;
    int32 number = 38;
  }
  google.protobuf.Any any = 39;
  repeated google.protobuf.Any anys = 40;
  google.protobuf.Struct struct = 41;
  google.protobuf.Value value = 42;
  google.protobuf.ListValue list = 43;
  google.protobuf.Duration timeout = 44;
  google.protobuf.UInt64Value big = 45;
  google.protobuf.BytesValue blob = 46;
  google.protobuf.BoolValue flag = 47;
  map<string, google.protobuf.Duration> timeouts = 48;
}

message Empty {}
`;

const PROTO2 = `
syntax = "proto2";
package t2;

enum Level { LOW = 1; HIGH = 2; }

message Legacy {
  required string id = 1;
  optional Level level = 2;
  repeated Level levels = 3;
  optional int32 n = 4 [default = 7];
  map<string, Level> by_level = 5;
  optional group Extra = 6 {
    optional int32 a = 1;
    optional string b = 2;
  }
  repeated int32 packed_ints = 7 [packed = true];
}
`;

export function testRoot(): protobuf.Root {
  const root = new protobuf.Root();
  for (const file of [
    "google/protobuf/any.proto",
    "google/protobuf/duration.proto",
    "google/protobuf/struct.proto",
    "google/protobuf/wrappers.proto",
  ])
    root.addJSON(protobuf.common.get(file)!.nested!);
  protobuf.parse(PROTO3, root, { keepCase: true });
  protobuf.parse(PROTO2, root, { keepCase: true });
  return root;
}
