/** Prometheus metrics (prom-client), served on a loopback port only when asked for. */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import type { LmsService, LmsStatus } from './lmsService.js';

export const startMetrics = (lms: LmsService, port: number): Promise<Server> => {
  const registry = new Registry();
  // Every figure is read from lms.status() at scrape time: the counters are the event log's
  // (eventLog.ts), so the metrics and `lms status` cannot disagree.
  const counter = (name: string, help: string, read: (s: LmsStatus) => number): void =>
    void new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read(lms.status()));
      },
    });
  const gauge = (name: string, help: string, read: (s: LmsStatus) => number): void =>
    void new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read(lms.status()));
      },
    });
  counter('lms_channels_opened_total', 'APF channels opened for local connections', (s) => s.counters.channelsOpened);
  counter('lms_channels_closed_total', 'APF channels closed', (s) => s.counters.channelsClosed);
  counter('lms_bytes_to_me_total', 'Bytes forwarded from local clients to the ME (closed channels)', (s) => s.counters.bytesToMe);
  counter('lms_bytes_from_me_total', 'Bytes forwarded from the ME to local clients (closed channels)', (s) => s.counters.bytesFromMe);
  counter('lms_protocol_errors_total', 'APF protocol errors seen from the ME', (s) => s.counters.protocolErrors);
  counter('lms_connections_refused_total', 'Local connections refused (queue full, not loopback, ME unavailable)', (s) => s.counters.refused);
  counter('lms_channels_reclaimed_total', 'Quiet channels taken back while other clients waited for a slot', (s) => s.counters.reclaimed);
  counter('lms_me_alerts_total', 'Events the ME posted on notification channels', (s) => s.counters.notifications);
  gauge('lms_device_resets', 'Times the ME link was lost and reconnected', (s) => s.counters.resets);
  gauge('lms_session_ready', '1 while the APF session is up', (s) => (s.session.phase === 'ready' ? 1 : 0));
  gauge('lms_channels_open', 'APF channels open now', (s) => s.channels.length);
  gauge('lms_connections_waiting', 'Local connections waiting for a channel', (s) => s.session.queued);

  const server = createServer((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    registry.metrics().then((body) => {
      res.writeHead(200, { 'Content-Type': registry.contentType });
      res.end(body);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port }, () => resolve(server));
  });
};
