/** Prometheus metrics (prom-client), served on a loopback port only when asked for. */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import type { LmsService } from './lmsService.js';

export const startMetrics = (lms: LmsService, port: number): Promise<Server> => {
  const registry = new Registry();
  const counter = (name: string, help: string) => new Counter({ name, help, registers: [registry] });
  const opened = counter('lms_channels_opened_total', 'APF channels opened for local connections');
  const closed = counter('lms_channels_closed_total', 'APF channels closed');
  const toMe = counter('lms_bytes_to_me_total', 'Bytes forwarded from local clients to the ME (closed channels)');
  const fromMe = counter('lms_bytes_from_me_total', 'Bytes forwarded from the ME to local clients (closed channels)');
  const errors = counter('lms_protocol_errors_total', 'APF protocol errors seen from the ME');
  const refused = counter('lms_connections_refused_total', 'Local connections refused (queue full, not loopback, ME unavailable)');
  const reclaimed = counter('lms_channels_reclaimed_total', 'Quiet channels taken back while other clients waited for a slot');
  const alerts = counter('lms_me_alerts_total', 'Events the ME posted on notification channels');
  new Gauge({ name: 'lms_device_resets', help: 'Times the ME link was lost and reconnected', registers: [registry], collect() { this.set(lms.status().counters.resets); } });
  new Gauge({ name: 'lms_session_ready', help: '1 while the APF session is up', registers: [registry], collect() { this.set(lms.status().session.phase === 'ready' ? 1 : 0); } });
  new Gauge({ name: 'lms_channels_open', help: 'APF channels open now', registers: [registry], collect() { this.set(lms.status().channels.length); } });
  new Gauge({ name: 'lms_connections_waiting', help: 'Local connections waiting for a channel', registers: [registry], collect() { this.set(lms.status().session.queued); } });

  lms.events$.subscribe((e) => {
    if (e.type === 'channel-opened') opened.inc();
    else if (e.type === 'channel-closed') {
      closed.inc();
      toMe.inc(e.bytesToMe);
      fromMe.inc(e.bytesFromMe);
    } else if (e.type === 'protocol-error') errors.inc();
    else if (e.type === 'connection-refused') refused.inc();
    else if (e.type === 'channel-reclaimed') reclaimed.inc();
    else if (e.type === 'notification') alerts.inc();
  });

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
