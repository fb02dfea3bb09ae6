import { MetricsService } from './metrics.service';

const line = (text: string, start: string) => text.split('\n').find((l) => l.startsWith(start));

describe(MetricsService.name, () => {
  it('should keep each instance on its own registry, so that two applications in one process do not collide', async () => {
    const a = new MetricsService();
    const b = new MetricsService();
    a.tokenIssued();
    expect(line(await a.scrape(), 'idd_oauth_tokens_issued_total ')).toBe('idd_oauth_tokens_issued_total 1');
    expect(line(await b.scrape(), 'idd_oauth_tokens_issued_total ')).toBe('idd_oauth_tokens_issued_total 0');
  });

  describe('signIn', () => {
    it.each([
      ['a JIT creation', 'idp1', 'created', undefined, 'idd_sso_sign_ins_total{idp="idp1",outcome="created",reason=""} 1'],
      ['a refusal with its reason', 'idp1', 'refused', 'missingAttribute', 'idd_sso_sign_ins_total{idp="idp1",outcome="refused",reason="missingAttribute"} 1'],
      ['a refusal before the IdP is known', undefined, 'refused', 'unknownIssuer', 'idd_sso_sign_ins_total{idp="unknown",outcome="refused",reason="unknownIssuer"} 1'],
      ['a reason given with a success, which is dropped', 'idp1', 'updated', 'ignored', 'idd_sso_sign_ins_total{idp="idp1",outcome="updated",reason=""} 1'],
    ] as const)('should count %s', async (_name, idp, outcome, reason, expected) => {
      const m = new MetricsService();
      m.signIn(idp, outcome, reason);
      expect((await m.scrape()).split('\n')).toContain(expected);
    });
  });

  describe('jitGroupsChanged', () => {
    it('should count memberships joined and left, and write no series for none', async () => {
      const m = new MetricsService();
      m.jitGroupsChanged('idp1', 2, 0);
      const text = await m.scrape();
      expect(text).toContain('idd_jit_group_changes_total{idp="idp1",change="joined"} 2');
      expect(text).not.toContain('change="left"');
    });
  });

  describe('gauge', () => {
    it('should read its value when scraped, not when registered', async () => {
      const m = new MetricsService();
      let depth = 0;
      m.gauge('test_queue_depth', 'help', [], (set) => set({}, depth));
      depth = 3;
      expect(line(await m.scrape(), 'test_queue_depth ')).toBe('test_queue_depth 3');
    });
  });

  it('should include the event-loop delay among the process metrics', async () => {
    expect(await new MetricsService().scrape()).toContain('# TYPE nodejs_eventloop_lag_p99_seconds gauge');
  });
});
