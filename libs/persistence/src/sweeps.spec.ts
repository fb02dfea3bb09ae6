import { sweepDue } from './sweeps';

describe(sweepDue.name, () => {
  it('should say yes once per interval and table', () => {
    expect(sweepDue('spec_a', 1_000, 100)).toBe(true);
    expect(sweepDue('spec_a', 1_050, 100)).toBe(false);
    expect(sweepDue('spec_b', 1_050, 100)).toBe(true);
    expect(sweepDue('spec_a', 1_099, 100)).toBe(false);
    expect(sweepDue('spec_a', 1_100, 100)).toBe(true);
    expect(sweepDue('spec_a', 1_150, 100)).toBe(false);
  });
});
