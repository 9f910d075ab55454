import { promtool } from '../../../../test/support/prometheus';

describe('deploy/prometheus/rescind-writer.rules.yml', () => {
  it('passes promtool check rules', () => {
    expect(promtool('check', 'rules', 'rescind-writer.rules.yml')).toContain(
      'SUCCESS: 7 rules found',
    );
  });

  it('fires on a stuck outbox, dead letters, API errors, refused callers and a mass revocation, and only then (promtool test rules)', () => {
    expect(promtool('test', 'rules', 'rescind-writer.rules.test.yml')).toContain('SUCCESS');
  });
});
