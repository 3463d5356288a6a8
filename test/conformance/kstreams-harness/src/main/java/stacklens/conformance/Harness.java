package stacklens.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.kstream.Aggregator;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.EmitStrategy;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Initializer;
import org.apache.kafka.streams.kstream.JoinWindows;
import org.apache.kafka.streams.kstream.KGroupedStream;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.SessionWindowedDeserializer;
import org.apache.kafka.streams.kstream.SessionWindowedKStream;
import org.apache.kafka.streams.kstream.SessionWindows;
import org.apache.kafka.streams.kstream.StreamJoined;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.TimeWindowedDeserializer;
import org.apache.kafka.streams.kstream.TimeWindowedKStream;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.ValueJoiner;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.kstream.WindowedSerdes;
import org.apache.kafka.streams.state.WindowStore;
import org.apache.kafka.streams.test.TestRecord;

/**
 * Runs conformance scenarios through Kafka Streams' own TopologyTestDriver. Reads a JSON array of
 * scenarios on stdin and writes a JSON array of results on stdout, one per scenario, in order: for
 * every input record (in input order) the records it caused on the output topic and how many times
 * Kafka Streams counted it in its task-level dropped-records metric. Each partition of a scenario runs
 * in its own driver, as a task of its own (own stream time, own stores).
 *
 * Scenario: {name, topology, records: [{topic, key, value, timestamp, partition}]}. Topology:
 * {kind: "window", windows: {type: tumbling|hopping|session, sizeMs, advanceMs, gapMs, graceMs},
 * emit: updates|final, finalVia: onWindowClose|suppress} or {kind: "join", join: inner|left|outer,
 * timeDifferenceMs, graceMs}. Aggregations concatenate values ("" then agg + value + ";"), session
 * merges concatenate aggregates, joiners give left + "+" + right (null for a missing side).
 */
public final class Harness {
  private static final Serde<String> STRING = Serdes.String();
  private static final Initializer<String> INIT = () -> "";
  private static final Aggregator<String, String, String> AGG = (key, value, agg) -> agg + value + ";";
  private static final ValueJoiner<String, String, String> JOINER = (left, right) -> left + "+" + right;

  private Harness() {}

  public static void main(final String[] args) throws IOException {
    final ObjectMapper mapper = new ObjectMapper();
    final JsonNode scenarios = mapper.readTree(System.in);
    final Path stateRoot = Files.createTempDirectory("kstreams-harness");
    final ArrayNode results = mapper.createArrayNode();
    try {
      int index = 0;
      for (final JsonNode scenario : scenarios) {
        results.add(run(mapper, scenario, stateRoot.resolve(String.valueOf(index++))));
      }
    } finally {
      try (Stream<Path> paths = Files.walk(stateRoot)) {
        for (final Path path : paths.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(path);
      }
    }
    mapper.writeValue(System.out, results);
  }

  private static ObjectNode run(final ObjectMapper mapper, final JsonNode scenario, final Path stateDir) {
    final JsonNode topology = scenario.get("topology");
    final JsonNode records = scenario.get("records");
    final Map<Integer, List<Integer>> byPartition = new TreeMap<>();
    for (int i = 0; i < records.size(); i++) {
      byPartition.computeIfAbsent(records.get(i).path("partition").asInt(0), p -> new ArrayList<>()).add(i);
    }
    final ObjectNode[] steps = new ObjectNode[records.size()];
    for (final Map.Entry<Integer, List<Integer>> partition : byPartition.entrySet()) {
      final Properties props = new Properties();
      props.put(StreamsConfig.APPLICATION_ID_CONFIG, "conformance");
      props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
      props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.resolve(String.valueOf(partition.getKey())).toString());
      // Every update reaches the output (no record cache), as in Kafka Streams' own processor tests.
      props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
      // The TopologyTestDriver's wall clock stands still: emit-on-close and the outer join's emission
      // are throttled by wall-clock intervals, which must not hide results here.
      props.put(StreamsConfig.InternalConfig.EMIT_INTERVAL_MS_KSTREAMS_WINDOWED_AGGREGATION, 0L);
      props.put(StreamsConfig.InternalConfig.EMIT_INTERVAL_MS_KSTREAMS_OUTER_JOIN_SPURIOUS_RESULTS_FIX, 0L);
      try (TopologyTestDriver driver = new TopologyTestDriver(build(topology), props, Instant.EPOCH)) {
        final TestOutputTopic<?, String> output =
            driver.createOutputTopic("output", outputKeyDeserializer(topology), new StringDeserializer());
        for (final int index : partition.getValue()) {
          final JsonNode record = records.get(index);
          final TestInputTopic<String, String> input = driver.createInputTopic(
              record.path("topic").asText(defaultTopic(topology)), new StringSerializer(), new StringSerializer());
          final double droppedBefore = dropped(driver);
          final JsonNode value = record.get("value");
          input.pipeInput(
              record.get("key").isNull() ? null : record.get("key").asText(),
              value == null || value.isNull() ? null : value.asText(),
              record.get("timestamp").asLong());
          final ObjectNode step = mapper.createObjectNode();
          final ArrayNode outputs = step.putArray("outputs");
          for (final TestRecord<?, String> out : output.readRecordsToList()) outputs.add(toJson(mapper, out));
          step.put("droppedCount", (long) (dropped(driver) - droppedBefore));
          step.put("windowCount", windowCount(topology, record.get("timestamp").asLong()));
          steps[index] = step;
        }
      }
    }
    final ObjectNode result = mapper.createObjectNode();
    result.put("name", scenario.path("name").asText());
    final ArrayNode stepArray = result.putArray("steps");
    for (final ObjectNode step : steps) stepArray.add(step);
    return result;
  }

  private static Topology build(final JsonNode topology) {
    final StreamsBuilder builder = new StreamsBuilder();
    if (topology.get("kind").asText().equals("join")) {
      final KStream<String, String> left = builder.stream("left", Consumed.with(STRING, STRING));
      final KStream<String, String> right = builder.stream("right", Consumed.with(STRING, STRING));
      final JoinWindows windows = JoinWindows.ofTimeDifferenceAndGrace(
          Duration.ofMillis(topology.get("timeDifferenceMs").asLong()),
          Duration.ofMillis(topology.get("graceMs").asLong()));
      final StreamJoined<String, String, String> joined = StreamJoined.with(STRING, STRING, STRING);
      final KStream<String, String> out = switch (topology.get("join").asText()) {
        case "inner" -> left.join(right, JOINER, windows, joined);
        case "left" -> left.leftJoin(right, JOINER, windows, joined);
        case "outer" -> left.outerJoin(right, JOINER, windows, joined);
        default -> throw new IllegalArgumentException("unknown join " + topology.get("join"));
      };
      out.to("output", Produced.with(STRING, STRING));
      return builder.build();
    }
    final KGroupedStream<String, String> grouped =
        builder.stream("input", Consumed.with(STRING, STRING)).groupByKey(Grouped.with(STRING, STRING));
    final JsonNode spec = topology.get("windows");
    final boolean fin = topology.get("emit").asText().equals("final");
    final boolean suppress = fin && topology.path("finalVia").asText("onWindowClose").equals("suppress");
    final boolean onClose = fin && !suppress;
    final Duration grace = Duration.ofMillis(spec.get("graceMs").asLong());
    KTable<Windowed<String>, String> table;
    final Serde<Windowed<String>> keySerde;
    if (spec.get("type").asText().equals("session")) {
      SessionWindowedKStream<String, String> windowed = grouped.windowedBy(
          SessionWindows.ofInactivityGapAndGrace(Duration.ofMillis(spec.get("gapMs").asLong()), grace));
      if (onClose) windowed = windowed.emitStrategy(EmitStrategy.onWindowClose());
      table = windowed.aggregate(INIT, AGG, (key, a, b) -> a + b, Materialized.with(STRING, STRING));
      keySerde = WindowedSerdes.sessionWindowedSerdeFrom(String.class);
    } else {
      final TimeWindows windows = timeWindows(spec);
      TimeWindowedKStream<String, String> windowed = grouped.windowedBy(windows);
      if (onClose) windowed = windowed.emitStrategy(EmitStrategy.onWindowClose());
      // onWindowClose only emits windows its store still holds, and the store keeps them for size + grace
      // behind its stream time by default: a window that stream time passes by more than that in one
      // step is never emitted (suppress emits it). Longer retention changes nothing else.
      final Materialized<String, String, WindowStore<Bytes, byte[]>> materialized = onClose
          ? Materialized.<String, String, WindowStore<Bytes, byte[]>>with(STRING, STRING)
              .withRetention(Duration.ofDays(1))
          : Materialized.with(STRING, STRING);
      table = windowed.aggregate(INIT, AGG, materialized);
      keySerde = WindowedSerdes.timeWindowedSerdeFrom(String.class, windows.size());
    }
    if (suppress) table = table.suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()));
    table.toStream().to("output", Produced.with(keySerde, STRING));
    return builder.build();
  }

  private static TimeWindows timeWindows(final JsonNode spec) {
    final TimeWindows windows = TimeWindows.ofSizeAndGrace(
        Duration.ofMillis(spec.get("sizeMs").asLong()), Duration.ofMillis(spec.get("graceMs").asLong()));
    return spec.get("type").asText().equals("hopping")
        ? windows.advanceBy(Duration.ofMillis(spec.get("advanceMs").asLong()))
        : windows;
  }

  private static String defaultTopic(final JsonNode topology) {
    return topology.get("kind").asText().equals("join") ? "left" : "input";
  }

  private static Deserializer<?> outputKeyDeserializer(final JsonNode topology) {
    if (topology.get("kind").asText().equals("join")) return new StringDeserializer();
    final JsonNode spec = topology.get("windows");
    return spec.get("type").asText().equals("session")
        ? new SessionWindowedDeserializer<>(new StringDeserializer())
        : new TimeWindowedDeserializer<>(new StringDeserializer(), spec.get("sizeMs").asLong());
  }

  /** Windows a record belongs to (time windows), the most drops it can cause; 1 for the others. */
  private static int windowCount(final JsonNode topology, final long timestamp) {
    if (!topology.get("kind").asText().equals("window")) return 1;
    final JsonNode spec = topology.get("windows");
    return spec.get("type").asText().equals("session") ? 1 : timeWindows(spec).windowsFor(timestamp).size();
  }

  private static ObjectNode toJson(final ObjectMapper mapper, final TestRecord<?, String> record) {
    final ObjectNode node = mapper.createObjectNode();
    if (record.key() instanceof Windowed<?> windowed) {
      node.put("key", String.valueOf(windowed.key()));
      final ObjectNode window = node.putObject("window");
      window.put("start", windowed.window().start());
      window.put("end", windowed.window().end());
    } else {
      node.put("key", (String) record.key());
    }
    node.put("value", record.value());
    node.put("timestamp", record.timestamp());
    return node;
  }

  private static double dropped(final TopologyTestDriver driver) {
    double total = 0;
    for (final Map.Entry<MetricName, ? extends org.apache.kafka.common.Metric> metric : driver.metrics().entrySet()) {
      if (metric.getKey().name().equals("dropped-records-total")) {
        total += ((Number) metric.getValue().metricValue()).doubleValue();
      }
    }
    return total;
  }
}
