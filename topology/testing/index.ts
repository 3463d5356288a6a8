/**
 * The test entry of the streams runtime (Kafka Streams' kafka-streams-test-utils): a topology driven
 * synchronously, without Kafka, and a sink that collects what it is given.
 */
export { TopologyTestDriver, TestInputTopic, TestOutputTopic, type TestRecord } from './topology-test-driver';
export { CollectingSink } from './collecting-sink';
