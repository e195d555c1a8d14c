/**
 * The host's FQDN, as the host itself resolves it: the kernel's host name when it is qualified,
 * else the canonical name /etc/hosts gives it (as `hostname -f` finds it), else the name its
 * address resolves back to, else the bare host name.
 */
import { promises as dns } from 'node:dns';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';

export const hostFqdn = async (name = hostname(), hostsFile = '/etc/hosts'): Promise<string> => {
  if (name.includes('.')) return name;
  const hosts = await readFile(hostsFile, 'utf8').catch(() => '');
  for (const line of hosts.split('\n')) {
    const [, ...names] = line.replace(/#.*/, '').trim().split(/\s+/);
    if (names.includes(name) && names[0]?.includes('.')) return names[0];
  }
  try {
    const { address } = await dns.lookup(name);
    const back = (await dns.reverse(address)).find((n) => n.includes('.') && n.toLowerCase().startsWith(`${name.toLowerCase()}.`));
    if (back) return back;
  } catch {
    // no DNS answer: the bare name is what the host knows itself by
  }
  return name;
};
