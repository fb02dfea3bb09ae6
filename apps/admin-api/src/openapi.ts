import 'reflect-metadata';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '@app/config';
import { buildOpenApiDocument, createApp } from './create-app';

/** Renders the OpenAPI document as YAML, deterministically (fixed server URL, throw-away database). */
export async function renderOpenApiYaml(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'openapi-'));
  try {
    const config = loadConfig({ DATABASE_URL: `sqlite:${join(dir, 'openapi.sqlite')}`, PUBLIC_URL: 'http://localhost:3000', ADMIN_CLIENT_ID: 'openapi', ADMIN_CLIENT_SECRET: 'openapi-generation-only' });
    const app = await createApp(config, { logger: false });
    try {
      return stringify(buildOpenApiDocument(app, config), { lineWidth: 0, sortMapEntries: false });
    } finally {
      await app.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  renderOpenApiYaml().then((yaml) => {
    writeFileSync(join(process.cwd(), 'openapi.yaml'), yaml);
    console.log('openapi.yaml written');
  });
}
