import express from 'express';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expressServerClasses } from './http-adapter';

describe('expressServerClasses', () => {
  it("creates requests and responses with Express's prototypes, so Express never has to change them", async () => {
    const app = express();
    app.get('/x', (req, res) => {
      res.json({ path: req.path, query: req.query, isRequest: req instanceof http.IncomingMessage, isResponse: res instanceof http.ServerResponse });
    });
    const classes = expressServerClasses(app)!;
    expect(classes).toBeDefined();
    const born: boolean[] = [];
    const server = http.createServer(classes, (req, res) => {
      born.push(Object.getPrototypeOf(req) === app.request && Object.getPrototypeOf(res) === app.response);
      app(req, res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      for (let i = 0; i < 3; i++) {
        const r = await fetch(`${base}/x?a=${i}`);
        expect(r.status).toBe(200);
        expect(await r.json()).toEqual({ path: '/x', query: { a: String(i) }, isRequest: true, isResponse: true });
      }
      const missing = await fetch(`${base}/nope`);
      expect(missing.status).toBe(404);
      await missing.text();
      expect(born).toEqual([true, true, true, true]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
