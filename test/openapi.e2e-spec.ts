import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { renderOpenApiYaml } from '../apps/admin-api/src/openapi';

/** openapi.yaml is generated from the code (`npm run openapi`) and committed; this fails when it is stale. */
describe('openapi.yaml', () => {
  let generated: string;
  beforeAll(async () => {
    generated = await renderOpenApiYaml();
  });

  it('should match what `npm run openapi` generates from the code', () => {
    const committed = readFileSync(join(__dirname, '..', 'openapi.yaml'), 'utf8');
    if (committed !== generated) {
      throw new Error('openapi.yaml is stale: run `npm run openapi` and commit the result');
    }
  });

  it('should describe every operation with a summary, responses and, for SCIM resources, examples', () => {
    const doc = parse(generated);
    for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        expect({ path, method, summary: typeof op.summary }).toEqual({ path, method, summary: 'string' });
        for (const [code, r] of Object.entries<any>(op.responses)) {
          expect({ path, method, code, described: !!r.description }).toEqual({ path, method, code, described: true });
        }
      }
    }
    for (const name of ['User', 'Group', 'ScimError']) {
      expect(doc.components.schemas[name]).toBeDefined();
    }
    expect(doc.components.schemas.User.example.userName).toBeTruthy();
    expect(doc.paths['/admin/v1/Users'].post.requestBody.content['application/json'].examples).toBeDefined();
  });
});
