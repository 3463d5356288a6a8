import { readFile } from 'node:fs/promises';
import { COMPATIBILITY, SchemaType, type SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { StackLensError } from '../../common/errors';
import type { Serde } from '../../topology';

/** Confluent wire format: magic byte 0, 4-byte big-endian schema id, then the Avro binary body. */
const MAGIC_BYTE = 0;
const HEADER_BYTES = 5;
/** A bound on the version walk at start, far above any real subject's history. */
const MAX_VERSIONS = 1_000;

/** TopicNameStrategy: the subject of a topic's record values. */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}

/** A Serde that writes and reads one registry subject's Avro records in Confluent wire format. */
export interface AvroSerde<T> extends Serde<T> {
  readonly subject: string;
  /** The id `serialize` writes: the schema this process registered. */
  readonly schemaId: number;
  /** Every id `deserialize` reads: `schemaId` and the subject's other versions found at start that it can resolve. */
  readonly readableIds: readonly number[];
}

/** The schema file cannot be read or is not a valid Avro schema. */
export class AvroSchemaError extends StackLensError {}

/** The registry refused the schema because it breaks the subject's compatibility rule. */
export class SchemaIncompatibleError extends StackLensError {
  constructor(
    readonly subject: string,
    registryMessage: string,
    options?: { cause?: unknown },
  ) {
    super(
      `schema for subject ${subject} is incompatible with its registered versions (${registryMessage}); ` +
        `evolve it compatibly (e.g. give new fields a default) or register it under a new subject`,
      options,
    );
  }
}

/** Registration failed for another reason (registry unreachable, compatibility level differs, ...). */
export class SchemaRegistrationError extends StackLensError {}

/** A value does not fit the schema (encode), or bytes are not a record of the subject (decode). */
export class AvroSerdeError extends StackLensError {}

/**
 * A record carries a schema id that was not a version of the subject when the serde was built (or a
 * version this schema cannot read). The serde is synchronous, so it cannot ask the registry then;
 * restarting picks up newer versions.
 */
export class UnknownSchemaIdError extends AvroSerdeError {
  constructor(
    readonly subject: string,
    readonly schemaId: number,
    known: readonly number[],
  ) {
    super(
      `record written with schema id ${schemaId}, which was not a version of subject ${subject} readable ` +
        `with its schema at start (readable ids: ${known.join(', ')}); restart to read schemas registered since`,
    );
  }
}

export interface RegisterAvroSerdeOptions {
  /**
   * The subject's compatibility level, set on first registration. An existing subject with another
   * level is an error (SchemaRegistrationError), not silently changed. Default BACKWARD: consumers
   * upgraded first can still read what older producers wrote.
   */
  compatibility?: COMPATIBILITY;
}

/**
 * Registers the Avro schema in `schemaFile` (.avsc) under `subject` and returns a synchronous serde
 * bound to it — the topology's Serde interface cannot wait on the network, so everything that needs the
 * registry happens here, once, at start:
 * - `serialize` writes the registered id and the record encoded with that schema;
 * - `deserialize` reads records written with any version of the subject that existed at start (older
 *   versions are resolved into this schema, Avro schema evolution), and throws UnknownSchemaIdError
 *   for any other id. Versions are found by walking 1, 2, ... until the registry has no such version,
 *   so versions after a deleted one are not read.
 * `null` stays `null` both ways (tombstones).
 */
export async function registerAvroSerde<T>(
  registry: SchemaRegistry,
  subject: string,
  schemaFile: string,
  options: RegisterAvroSerdeOptions = {},
): Promise<AvroSerde<T>> {
  let schema: unknown;
  try {
    schema = JSON.parse(await readFile(schemaFile, 'utf8'));
  } catch (err) {
    throw new AvroSchemaError(`cannot read Avro schema ${schemaFile}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return registerAvroSchemaSerde<T>(registry, subject, schema, options);
}

/** Like registerAvroSerde, with the schema given as its JSON object (e.g. processors/avro/schemas.ts). */
export async function registerAvroSchemaSerde<T>(
  registry: SchemaRegistry,
  subject: string,
  schema: unknown,
  options: RegisterAvroSerdeOptions = {},
): Promise<AvroSerde<T>> {
  let type: avro.Type;
  try {
    type = avro.Type.forSchema(schema as avro.Schema);
  } catch (err) {
    throw new AvroSchemaError(`invalid Avro schema for subject ${subject}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const schemaId = await register(registry, subject, schema, options);
  const resolvers = await olderVersionResolvers(registry, subject, schemaId, type);
  const readableIds = [schemaId, ...resolvers.keys()];
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt8(MAGIC_BYTE, 0);
  header.writeInt32BE(schemaId, 1);

  return {
    subject,
    schemaId,
    readableIds,
    serialize(value: T): Buffer | null {
      if (value === null || value === undefined) return null;
      let body: Buffer;
      try {
        body = type.toBuffer(value);
      } catch (err) {
        throw new AvroSerdeError(
          `value does not fit the schema of subject ${subject}; invalid fields: ${invalidPaths(type, value)}`,
          { cause: err },
        );
      }
      return Buffer.concat([header, body]);
    },
    deserialize(data: Buffer | null): T {
      if (data === null) return null as T;
      if (data.length < HEADER_BYTES || data.readUInt8(0) !== MAGIC_BYTE) {
        throw new AvroSerdeError(
          `record on subject ${subject} is not in Confluent wire format (magic byte 0 and a schema id)`,
        );
      }
      const id = data.readInt32BE(1);
      const body = data.subarray(HEADER_BYTES);
      const resolver = resolvers.get(id);
      if (id !== schemaId && resolver === undefined) throw new UnknownSchemaIdError(subject, id, readableIds);
      try {
        return (resolver === undefined ? type.fromBuffer(body) : type.fromBuffer(body, resolver)) as T;
      } catch (err) {
        throw new AvroSerdeError(
          `cannot decode a record of subject ${subject} written with schema id ${id}: ${(err as Error).message}`,
          { cause: err },
        );
      }
    },
  };
}

async function register(
  registry: SchemaRegistry,
  subject: string,
  schema: unknown,
  options: RegisterAvroSerdeOptions,
): Promise<number> {
  try {
    const { id } = await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
      { subject, compatibility: options.compatibility ?? COMPATIBILITY.BACKWARD },
    );
    return id;
  } catch (err) {
    const failure = err as { status?: number; message?: string };
    // 409 is the Confluent API's answer to a schema that breaks the subject's compatibility rule.
    if (failure.status === 409)
      throw new SchemaIncompatibleError(subject, failure.message ?? '', { cause: err });
    throw new SchemaRegistrationError(
      `registering the schema of subject ${subject} failed: ${failure.message ?? String(err)}`,
      { cause: err },
    );
  }
}

/** Resolvers from each other version of the subject (as writer) into `reader`, by schema id. */
async function olderVersionResolvers(
  registry: SchemaRegistry,
  subject: string,
  ownId: number,
  reader: avro.Type,
): Promise<Map<number, avro.Resolver>> {
  const resolvers = new Map<number, avro.Resolver>();
  for (let version = 1; version <= MAX_VERSIONS; version++) {
    let id: number;
    try {
      id = await registry.getRegistryId(subject, version);
    } catch (err) {
      if ((err as { status?: number }).status === 404) break;
      throw new SchemaRegistrationError(
        `reading version ${version} of subject ${subject} failed: ${(err as Error).message}`,
        { cause: err },
      );
    }
    if (id === ownId || resolvers.has(id)) continue;
    const writer = (await registry.getSchema(id)) as unknown as avro.Type;
    try {
      resolvers.set(id, reader.createResolver(writer));
    } catch {
      // A version registered under a looser rule (e.g. NONE) that this schema cannot read: its records
      // fail with UnknownSchemaIdError, which beats refusing to start and write new ones.
      continue;
    }
  }
  return resolvers;
}

/** Dotted paths of the fields that do not fit; values are left out (they may hold personal data). */
function invalidPaths(type: avro.Type, value: unknown): string {
  const paths: string[] = [];
  type.isValid(value, { errorHook: (path) => paths.push(path.join('.') || '(root)') });
  return paths.length > 0 ? paths.join(', ') : '(none reported)';
}
