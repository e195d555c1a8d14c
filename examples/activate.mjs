#!/usr/bin/env node
// Activates AMT in client control mode the way rpc-go's `activate --local` does, then reads what a
// console reads first: against the simulated AMT of `lms run --simulate --sim-provisioning pre`
// (or a real AMT through lms). WS-Man messages are built with Intel's wsman-messages.
//   node examples/activate.mjs <port> '<local system account user>:<password>' '<new admin password>'
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { AMT, IPS } from '@device-management-toolkit/wsman-messages';

const [port, account, newPassword] = process.argv.slice(2);
if (!port || !account?.includes(':') || !newPassword) {
  console.error("usage: node examples/activate.mjs <port> '<user>:<password>' '<new admin password>'");
  process.exit(2);
}
const md5 = (s) => createHash('md5').update(s).digest('hex');

const post = (xml, authorization) =>
  new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: Number(port), path: '/wsman', method: 'POST', agent: false, headers: { 'Content-Type': 'application/soap+xml; charset=utf-8', ...(authorization ? { Authorization: authorization } : {}) } });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, challenge: res.headers['www-authenticate'], body }));
    });
    req.on('error', reject);
    req.end(xml);
  });

/** One call with HTTP Digest (qop=auth), as AMT asks for it. */
const call = async ([user, password], xml) => {
  const { challenge } = await post(xml);
  const p = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
  const cnonce = randomBytes(8).toString('hex');
  const response = md5(`${md5(`${user}:${p.realm}:${password}`)}:${p.nonce}:00000001:${cnonce}:auth:${md5('POST:/wsman')}`);
  const answer = await post(xml, `Digest username="${user}", realm="${p.realm}", nonce="${p.nonce}", uri="/wsman", response="${response}", qop=auth, nc=00000001, cnonce="${cnonce}"`);
  if (answer.status !== 200) throw new Error(`HTTP ${answer.status}: ${answer.body.slice(0, 300)}`);
  return answer.body;
};
const field = (xml, name) => new RegExp(`<(?:\\w+:)?${name}>([^<]*)<`).exec(xml)?.[1];

const amt = new AMT.Messages();
const ips = new IPS.Messages();
const lsa = [account.slice(0, account.lastIndexOf(':')), account.slice(account.lastIndexOf(':') + 1)];

const realm = field(await call(lsa, amt.GeneralSettings.Get()), 'DigestRealm');
const mode = field(await call(lsa, ips.HostBasedSetupService.Get()), 'CurrentControlMode');
console.log(`realm ${realm}, control mode ${mode}`);
const setup = await call(lsa, ips.HostBasedSetupService.Setup(2, md5(`admin:${realm}:${newPassword}`)));
console.log(`Setup: ReturnValue ${field(setup, 'ReturnValue')}`);
const admin = ['admin', newPassword];
console.log(`provisioning state ${field(await call(admin, amt.SetupAndConfigurationService.Get()), 'ProvisioningState')}, AMT ${field(await call(admin, amt.GeneralSettings.Get()), 'DigestRealm') === realm ? 'answers the new admin' : '?'}`);
