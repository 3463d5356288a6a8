import { ConfigResourceTypes, type Admin } from 'kafkajs';
import type { Logger } from '../../common/logger';
import { TopologyDefinitionError } from '../errors';
import { changelogTopicName } from '../state/store';
import { resolveTopic, type Topology } from '../topology';
import { planPartitions, type PartitionPlan } from './partition-plan';

/**
 * Kafka Streams' InternalTopicManager: reads the partition counts of the external source topics that
 * exist, plans every sub-topology's partitions from them (co-partitioning checked, partition-plan.ts)
 * and creates the internal topics the plan needs.
 */
export async function planAndCreateTopics(
  admin: Admin,
  topology: Topology,
  options: {
    applicationId: string;
    lateTopic: string;
    dlqTopic: string;
    replicationFactor: number;
    /** Warned of existing internal topics whose settings differ from those the runtime creates them with. */
    log: Pick<Logger, 'warn'>;
  },
): Promise<PartitionPlan> {
  const { applicationId, lateTopic, dlqTopic } = options;
  const external = [
    ...new Set(
      topology.subTopologies.flatMap((s) =>
        s.sourceTopics.filter((t) => t.kind === 'external').map((t) => resolveTopic(t, applicationId)),
      ),
    ),
  ];
  const existing = new Set(await admin.listTopics());
  const counts = new Map<string, number>();
  const present = external.filter((t) => existing.has(t));
  if (present.length > 0) {
    for (const t of (await admin.fetchTopicMetadata({ topics: present })).topics) {
      counts.set(t.name, t.partitions.length);
    }
  }
  const plan = planPartitions(topology, applicationId, counts);
  const drifts = await ensureTopics(
    admin,
    internalTopics(topology, applicationId, plan, { lateTopic, dlqTopic }),
    options.replicationFactor,
    new Set([lateTopic, dlqTopic]),
  );
  for (const drift of drifts) {
    options.log.warn(
      { topic: drift.topic, config: drift.name, actual: drift.actual, wanted: drift.wanted },
      `internal topic ${drift.topic} has ${drift.name}=${drift.actual}, the runtime creates it with ` +
        `${drift.wanted} (it does not alter existing topics): set it with kafka-configs --alter ` +
        `--entity-type topics --entity-name ${drift.topic} --add-config ${drift.name}=${drift.wanted}`,
    );
  }
  return plan;
}

/** The source topics the application writes itself (repartition topics), which a bounded run reads to their end. */
export function internalSourceTopics(topology: Topology, applicationId: string): string[] {
  return [
    ...new Set(
      topology.subTopologies.flatMap((s) =>
        s.sourceTopics.filter((t) => t.kind !== 'external').map((t) => resolveTopic(t, applicationId)),
      ),
    ),
  ];
}

export interface TopicToCreate {
  readonly topic: string;
  readonly numPartitions: number;
  readonly compacted: boolean;
  /** Topic configuration set at creation besides the cleanup policy. */
  readonly config?: Readonly<Record<string, string>>;
}

/**
 * Kafka Streams' repartition topic settings. A segment rolls every 50 MB: the records purged once
 * committed (repartition-purger.ts) free their disk when the broker deletes the segments wholly before
 * the low watermark, which the broker's 1 GiB default would delay long. Retention is infinite: a
 * repartitioned record carries its event time, and the broker's time retention (7 days by default)
 * would delete records of older events (a backfill, a replay) before the next sub-topology read them;
 * the purger, not the broker's clock, bounds the disk.
 */
export const REPARTITION_TOPIC_CONFIG: Readonly<Record<string, string>> = {
  'segment.bytes': '52428800',
  'retention.ms': '-1',
};

/** Repartition topics, one compacted changelog per store (partitions = tasks of its sub-topology), late and DLQ topics. */
export function internalTopics(
  topology: Topology,
  applicationId: string,
  plan: PartitionPlan,
  extra: { lateTopic: string; dlqTopic: string },
): TopicToCreate[] {
  const topics: TopicToCreate[] = [];
  for (const [topic, numPartitions] of plan.repartitionPartitions)
    topics.push({ topic, numPartitions, compacted: false, config: REPARTITION_TOPIC_CONFIG });
  for (const sub of topology.subTopologies) {
    for (const store of sub.stores) {
      topics.push({
        topic: changelogTopicName(applicationId, store),
        numPartitions: plan.subTopologyPartitions.get(sub.id) as number,
        compacted: true,
      });
    }
  }
  topics.push({ topic: extra.lateTopic, numPartitions: 1, compacted: false });
  topics.push({ topic: extra.dlqTopic, numPartitions: 1, compacted: false });
  return topics;
}

/** A setting of an existing internal topic that differs from the one it would be created with. */
export interface ConfigDrift {
  readonly topic: string;
  readonly name: string;
  readonly actual: string;
  readonly wanted: string;
}

/**
 * The settings of `topics` (each with a `config`) that differ on the broker, from `described`: topic →
 * setting → value. A repartition topic created by an earlier version keeps the broker's time retention,
 * which deletes the records of old events before they are read (see REPARTITION_TOPIC_CONFIG).
 */
export function configDrift(
  topics: readonly TopicToCreate[],
  described: ReadonlyMap<string, ReadonlyMap<string, string>>,
): ConfigDrift[] {
  const drifts: ConfigDrift[] = [];
  for (const t of topics) {
    for (const [name, wanted] of Object.entries(t.config ?? {})) {
      const actual = described.get(t.topic)?.get(name);
      if (actual !== undefined && actual !== wanted) drifts.push({ topic: t.topic, name, actual, wanted });
    }
  }
  return drifts;
}

async function describedConfigs(
  admin: Admin,
  topics: readonly TopicToCreate[],
): Promise<Map<string, Map<string, string>>> {
  const described = new Map<string, Map<string, string>>();
  if (topics.length === 0) return described;
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((t) => ({
      type: ConfigResourceTypes.TOPIC,
      name: t.topic,
      configNames: Object.keys(t.config ?? {}),
    })),
  });
  for (const r of resources) {
    described.set(r.resourceName, new Map(r.configEntries.map((e) => [e.configName, e.configValue])));
  }
  return described;
}

/**
 * Creates the topics that are missing and checks the ones that exist: a changelog or repartition
 * topic with another partition count would break task-to-partition mapping (late and DLQ topics may
 * have been created with any count by operators); settings that differ from those a topic would be
 * created with are returned, since existing topics are never altered.
 */
export async function ensureTopics(
  admin: Admin,
  topics: readonly TopicToCreate[],
  replicationFactor: number,
  flexibleCount: ReadonlySet<string>,
): Promise<ConfigDrift[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.topic));
  if (missing.length > 0) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((t) => ({
        topic: t.topic,
        numPartitions: t.numPartitions,
        replicationFactor,
        configEntries: [
          ...(t.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : []),
          ...Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
        ],
      })),
    });
  }
  const present = topics.filter((t) => existing.has(t.topic) && !flexibleCount.has(t.topic));
  if (present.length === 0) return [];
  const metadata = await admin.fetchTopicMetadata({ topics: present.map((t) => t.topic) });
  for (const t of present) {
    const found = metadata.topics.find((m) => m.name === t.topic);
    if (found && found.partitions.length !== t.numPartitions) {
      throw new TopologyDefinitionError(
        `internal topic ${t.topic} has ${found.partitions.length} partitions, the topology needs ${t.numPartitions}`,
      );
    }
  }
  const configured = present.filter((t) => t.config !== undefined);
  return configDrift(configured, await describedConfigs(admin, configured));
}
