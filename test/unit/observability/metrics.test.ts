import { register as globalRegistry } from 'prom-client';
import { createMetrics } from '../../../src/observability/metrics.js';

describe('createMetrics', () => {
  it('exposes the gateway metrics on its own registry', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.graphqlOperations.inc({ operation_name: 'Me', operation_type: 'query', outcome: 'success' });
    metrics.graphqlErrors.inc({ code: 'FORBIDDEN' });
    metrics.auth0Requests.inc({ endpoint: 'link', method: 'POST', status: '201' });
    metrics.auth0RequestDuration.observe({ endpoint: 'link' }, 0.05);
    metrics.auth0BudgetQueueLength.set(3);
    metrics.auth0BudgetWait.observe(0.2);
    metrics.auth0TokenFetches.inc({ outcome: 'success' });
    const text = await metrics.registry.metrics();
    for (const name of [
      'graphql_operations_total{operation_name="Me",operation_type="query",outcome="success"} 1',
      'graphql_errors_total{code="FORBIDDEN"} 1',
      'auth0_requests_total{endpoint="link",method="POST",status="201"} 1',
      'auth0_request_duration_seconds_bucket',
      'auth0_budget_queue_length 3',
      'auth0_budget_wait_seconds_count 1',
      'auth0_token_fetches_total{outcome="success"} 1',
    ]) {
      expect(text).toContain(name);
    }
    expect(await globalRegistry.metrics()).not.toContain('graphql_operations_total');
  });

  it('registers auth0_link_gateway_redis_up only when replicas share a Redis', async () => {
    const alone = createMetrics({ defaultMetrics: false });
    expect(alone.redisUp).toBeUndefined();
    expect(await alone.registry.metrics()).not.toContain('redis_up');
    const shared = createMetrics({ defaultMetrics: false, redis: true });
    shared.redisUp?.set(1);
    expect(await shared.registry.metrics()).toMatch(/^auth0_link_gateway_redis_up 1$/m);
  });

  it('lets two instances coexist and includes process metrics by default', async () => {
    const a = createMetrics();
    const b = createMetrics();
    expect(await a.registry.metrics()).toContain('process_cpu_user_seconds_total');
    expect(b.registry).not.toBe(a.registry);
  });
});
