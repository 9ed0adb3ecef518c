import { parseBusinessView, parseDeployments, parseHeadline } from '../src/endpoints';
import { headlineText } from '../src/derive';

describe('business results', () => {
  it('parses a deployment headline and says it with its trend', () => {
    const [d] = parseDeployments({
      deployments: [
        {
          name: 'fraud_online',
          model: 'fraud',
          headline: { kpi: 'money_saved', value: 1234.5, trend: 'up', version: 2, arm: null }
        }
      ]
    });
    expect(d.headline?.kpi).toBe('money_saved');
    expect(headlineText(d.headline)).toBe('money_saved 1,234.5 ▲');
    expect(headlineText(parseHeadline({ kpi: 'recall', value: null, trend: null }))).toBe(
      'recall no outcomes yet'
    );
    expect(headlineText(null)).toBe('');
    expect(parseHeadline(null)).toBeNull();
  });

  it('parses the business view and refuses one without a chart', () => {
    const view = parseBusinessView({
      deployment: 'd',
      every: '1w',
      kpis: [{ kpi: 'recall' }],
      alerts: [{ message: 'review_cost above 500', kind: 'kpi:review_cost' }],
      comparison: null,
      headline: null,
      spec: { $schema: 'https://vega.github.io/schema/vega-lite/v5.json' }
    });
    expect(view.kpiRows).toBe(1);
    expect(view.alerts[0].kind).toBe('kpi:review_cost');
    expect(() => parseBusinessView({ deployment: 'd', kpis: [] })).toThrow('chart spec');
  });
});
