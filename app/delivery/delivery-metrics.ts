import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Prometheus metrics of alert delivery, labelled by receiver name. */
export interface DeliveryMetrics {
  delivered: Counter<'receiver' | 'step'>;
  failed: Counter<'receiver'>;
  retried: Counter<'receiver'>;
  deadLettered: Counter<'receiver'>;
  skipped: Counter<'receiver' | 'reason'>;
  inDoubt: Counter<'receiver'>;
  undecodable: Counter<never>;
  latency: Histogram<'receiver'>;
  queued: Gauge<'receiver'>;
}

export function deliveryMetrics(registry: Registry): DeliveryMetrics {
  const registers = [registry];
  return {
    delivered: new Counter({
      name: 'stacklens_delivery_delivered_total',
      help: 'Alerts a receiver accepted, by step (send: webhook/Slack, create: Jira issue, comment: Jira comment)',
      labelNames: ['receiver', 'step'],
      registers,
    }),
    failed: new Counter({
      name: 'stacklens_delivery_failed_total',
      help: 'Delivery attempts that failed (each retry that fails counts again)',
      labelNames: ['receiver'],
      registers,
    }),
    retried: new Counter({
      name: 'stacklens_delivery_retried_total',
      help: 'Delivery attempts made again after a retryable failure',
      labelNames: ['receiver'],
      registers,
    }),
    deadLettered: new Counter({
      name: 'stacklens_delivery_dead_lettered_total',
      help: 'Deliveries given up on and written to the delivery dead-letter topic',
      labelNames: ['receiver'],
      registers,
    }),
    skipped: new Counter({
      name: 'stacklens_delivery_skipped_total',
      help: 'Alerts read again (replay, restart) that the delivery state says were already handled',
      labelNames: ['receiver', 'reason'],
      registers,
    }),
    inDoubt: new Counter({
      name: 'stacklens_delivery_in_doubt_total',
      help: 'Deliveries found started but not finished by a previous process (it died in between)',
      labelNames: ['receiver'],
      registers,
    }),
    undecodable: new Counter({
      name: 'stacklens_delivery_undecodable_total',
      help: 'Alert records that could not be decoded (dead-lettered)',
      registers,
    }),
    latency: new Histogram({
      name: 'stacklens_delivery_latency_seconds',
      help: 'From reading an alert to its receiver accepting it, retries included',
      labelNames: ['receiver'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    }),
    queued: new Gauge({
      name: 'stacklens_delivery_queued',
      help: 'Deliveries waiting in or running from a receiver queue',
      labelNames: ['receiver'],
      registers,
    }),
  };
}
