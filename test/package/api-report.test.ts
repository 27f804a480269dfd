import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { apiReport, entryPoints, REPORT_PATH } from '../../scripts/api-report.js';

describe('the API report', () => {
  it('lists every entry point of the exports map', () => {
    expect(entryPoints().map((e) => e.subpath)).toContain('breakwater');
    expect(entryPoints().map((e) => e.subpath)).toContain('breakwater/redis');
  });

  it('matches the committed api/report.md (run `npm run api:report` after a deliberate change)', () => {
    expect(apiReport()).toBe(readFileSync(REPORT_PATH, 'utf8'));
  }, 120_000);
});
