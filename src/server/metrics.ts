// Prometheus metrics: runs by status, stage durations, queue wait, dispatch latency, agents busy
// and idle, log bytes. Gauges that describe the store are read when scraped.

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { StageRecord } from '../store/types.js';

export class Metrics {
  readonly registry = new Registry();
  readonly runsFinished = new Counter({ name: 'otto_runs_finished_total', help: 'Runs that ended, by status', labelNames: ['status'], registers: [this.registry] });
  readonly runsByStatus = new Gauge({ name: 'otto_runs', help: 'Runs in the store, by status', labelNames: ['status'], registers: [this.registry] });
  readonly stageDuration = new Histogram({
    name: 'otto_stage_duration_seconds',
    help: 'How long stages took, by final status',
    labelNames: ['status'],
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    registers: [this.registry],
  });
  readonly queueWait = new Histogram({ name: 'otto_queue_wait_seconds', help: 'Time from a stage being queued to an agent taking it', buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10, 60, 600], registers: [this.registry] });
  readonly dispatchLatency = new Histogram({
    name: 'otto_dispatch_latency_seconds',
    help: 'Time from an agent taking a job to its first step starting',
    buckets: [0.005, 0.02, 0.05, 0.1, 0.5, 2, 10],
    registers: [this.registry],
  });
  readonly agents = new Gauge({ name: 'otto_agents', help: 'Connected agents, busy or idle', labelNames: ['state'], registers: [this.registry] });
  readonly logBytes = new Counter({ name: 'otto_log_bytes_total', help: 'Bytes of step output received', registers: [this.registry] });
  readonly triggers = new Counter({ name: 'otto_triggers_total', help: 'Runs triggered, by event', labelNames: ['event'], registers: [this.registry] });

  stageFinished(r: StageRecord): void {
    if (r.startedAt !== null && r.finishedAt !== null) this.stageDuration.observe({ status: r.status }, (r.finishedAt - r.startedAt) / 1000);
  }

  /** Flat name → value pairs for the Graphite export. */
  async snapshot(): Promise<Array<[string, number]>> {
    const out: Array<[string, number]> = [];
    for (const m of await this.registry.getMetricsAsJSON()) {
      for (const v of m.values as Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>) {
        const labels = Object.values(v.labels).map((l) => String(l).replace(/[^A-Za-z0-9_-]/g, '_'));
        out.push([[v.metricName ?? m.name, ...labels].join('.'), v.value]);
      }
    }
    return out;
  }
}
