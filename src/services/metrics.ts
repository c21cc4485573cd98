import { Counter, Registry } from 'prom-client';

/**
 * Prometheus counters for operators (GET /internal/metrics). A registry per app, not prom-client's
 * global one, so several apps in one process (the tests) keep separate counts.
 */
export function createMetrics() {
  const registry = new Registry();
  const requests = new Counter({
    name: 'gpx_http_requests_total',
    help: 'HTTP requests answered, by operationId and status.',
    labelNames: ['operation_id', 'status'] as const,
    registers: [registry],
  });
  const authFailures = new Counter({
    name: 'gpx_auth_failures_total',
    help: 'Requests refused with 401 or 403, by error code.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });

  // One labelled child per (operation, status), looked up once: the hot path then only adds 1.
  const children = new Map<string, ReturnType<typeof requests.labels>>();

  return {
    observe(operationId: string | undefined, status: number, errorCode: string | undefined): void {
      const key = `${operationId ?? 'unmatched'} ${status}`;
      let child = children.get(key);
      if (!child) {
        child = requests.labels({ operation_id: operationId ?? 'unmatched', status: String(status) });
        children.set(key, child);
      }
      child.inc();
      if ((status === 401 || status === 403) && errorCode) authFailures.inc({ reason: errorCode });
    },
    contentType: registry.contentType,
    render: () => registry.metrics(),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
