/**
 * Micro-benchmark: what validation costs per write (docs/validation.md). Validates every
 * resource the fixtures write (the three case-management records: Patient, CarePlan, Goal,
 * Encounter, QuestionnaireResponse, Task, Provenance, …) with the profiles they claim, as the write
 * pipeline does, 7 runs after a warm-up; prints the median run's mean per resource and the
 * slowest type. Run: `npm run build -- -p tsconfig.bench.json` is not needed:
 *   flock /tmp/casebridge-bench.lock sh -c 'rm -rf dist && npx tsc -p tsconfig.bench.json && node dist/bench/validation-per-write.js'
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadValidator, validateResource } from '../src/fhir/validation';

type Json = Record<string, unknown>;

function fixtureResources(dir: string): Json[] {
  const out: Json[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    const file = path.join(dir, name);
    if (fs.statSync(file).isDirectory()) {
      out.push(...fixtureResources(file));
    } else if (name.endsWith('.json')) {
      const bundle = JSON.parse(fs.readFileSync(file, 'utf8')) as { entry?: Array<{ resource?: Json }> };
      for (const entry of bundle.entry ?? []) if (entry.resource) out.push(entry.resource);
    }
  }
  return out;
}

function main(): void {
  const root = path.resolve(__dirname, '..', '..');
  const resources = fixtureResources(path.join(root, 'fixtures'));
  loadValidator();
  const invalid = resources.filter((r) => validateResource(r).some((i) => i.severity === 'error'));
  if (invalid.length > 0) {
    throw new Error(`${invalid.length} fixture resources are not valid: the benchmark measures valid writes`);
  }
  for (let i = 0; i < 20; i++) for (const r of resources) validateResource(r); // warm-up: compile every expression
  const runs: number[] = [];
  const byType = new Map<string, number[]>();
  for (let run = 0; run < 7; run++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < 20; i++) {
      for (const r of resources) {
        const t0 = process.hrtime.bigint();
        validateResource(r);
        const type = String(r.resourceType);
        byType.set(type, [...(byType.get(type) ?? []), Number(process.hrtime.bigint() - t0) / 1000]);
      }
    }
    runs.push(Number(process.hrtime.bigint() - started) / 1000 / (20 * resources.length));
  }
  runs.sort((a, b) => a - b);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const types = [...byType.entries()].map(([type, xs]) => [type, median(xs)] as const).sort((a, b) => b[1] - a[1]);
  process.stdout.write(
    `validation per write: ${(runs[3] as number).toFixed(0)} µs mean over ${resources.length} fixture resources (median of 7 runs; min ${(runs[0] as number).toFixed(0)}, max ${(runs[6] as number).toFixed(0)})\n` +
      `median per type: ${types.map(([t, us]) => `${t} ${us.toFixed(0)}`).join(', ')} µs\n`,
  );
}

main();
