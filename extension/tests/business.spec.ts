import { parseBusinessView, parseDeployments, parseHeadline } from '../src/endpoints';
import { headlineText } from '../src/derive';
import { recorded as fixture } from './recorded';

describe('business results', () => {
  it('parses a deployment headline and says it with its trend', () => {
    // fraud_online of the prepared lakehouse defines the KPI money_saved
    const data = fixture('deployments');
    const recorded = parseDeployments(data).find(d => d.name === 'fraud_online')!;
    expect(recorded.headline?.kpi).toBe('money_saved');
    const d = data.deployments.find((x: { name: string }) => x.name === 'fraud_online');
    d.headline = { kpi: 'money_saved', value: 1234.5, trend: 'up', version: 2, arm: null };
    const [up] = parseDeployments({ deployments: [d] });
    expect(headlineText(up.headline)).toBe('money_saved 1,234.5 ▲');
    expect(headlineText(parseHeadline({ kpi: 'recall', value: null, trend: null }))).toBe(
      'recall no outcomes yet'
    );
    expect(headlineText(null)).toBe('');
    expect(parseHeadline(null)).toBeNull();
  });

  it('parses the business view and refuses one without a chart', () => {
    // GET deployments/fraud_online/business: a 50/50 split, so the arms are compared
    const data = fixture('deployments_fraud_online_business');
    const view = parseBusinessView(data);
    expect(view.deployment).toBe('fraud_online');
    expect(view.kpiRows).toBe(data.kpis.length);
    expect(view.kpiRows).toBeGreaterThan(0);
    expect(view.headline?.kpi).toBe('money_saved');
    expect(view.comparison?.arms.map(a => a.arm)).toEqual(
      expect.arrayContaining(['production', 'champion'])
    );
    expect(view.spec['$schema']).toMatch(/vega-lite/);
    const failed = parseBusinessView({ ...data, comparison: { error: 'no KPI' } });
    expect(failed.comparison).toBeNull();
    const alerted = parseBusinessView({
      ...data,
      alerts: [{ ...fixture('alerts').alerts[0], message: 'review_cost above 500', kind: 'kpi:review_cost' }]
    });
    expect(alerted.alerts[0].kind).toBe('kpi:review_cost');
    expect(() => parseBusinessView({ deployment: 'd', kpis: [] })).toThrow('chart spec');
  });
});
