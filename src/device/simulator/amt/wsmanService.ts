/**
 * The simulated AMT's WS-Man service: a table from resource URI to class (classes/*.ts), and
 * WS-Transfer (Get, Put), WS-Enumeration (Enumerate with or without OptimizeEnumeration, Pull
 * with MaxElements and EndOfSequence, Release) and CIM methods over it, answered as AMT answers.
 */
import type { AmtModel } from './model.js';
import {
  ENUMERATION,
  envelope,
  faultEnvelope,
  faultStatus,
  isFault,
  parseRequest,
  renderProperties,
  text,
  TRANSFER,
  type Fault,
  type Instance,
  type WsmanRequest,
} from './wsmanEnvelope.js';

export const AMT_SCHEMA = 'http://intel.com/wbem/wscim/1/amt-schema/1/';
export const CIM_SCHEMA = 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/';
export const IPS_SCHEMA = 'http://intel.com/wbem/wscim/1/ips-schema/1/';

/** A class's resource URI, from its name's prefix (AMT_, CIM_ or IPS_). */
export const classUri = (name: string): string => (name.startsWith('AMT_') ? AMT_SCHEMA : name.startsWith('IPS_') ? IPS_SCHEMA : CIM_SCHEMA) + name;

/** What a method gives back: its ReturnValue and output parameters. */
export interface MethodResult {
  readonly returnValue: number;
  readonly out?: Instance;
}
export type Method = (m: AmtModel, input: Readonly<Record<string, unknown>>) => MethodResult | Fault;

export interface ClassDef {
  readonly name: string;
  /** The classes whose instances it lists, where they are subclasses (CIM_PhysicalPackage lists CIM_Card and CIM_Chassis). */
  readonly members?: readonly string[];
  instances(m: AmtModel): readonly Instance[];
  /** Applies a Put's properties to the model, or says why not. */
  put?(m: AmtModel, given: Readonly<Record<string, unknown>>): Fault | undefined;
  readonly methods?: Readonly<Record<string, Method>>;
  /** Answered before provisioning too, to the local system account (host-based setup). */
  readonly setup?: boolean;
  /** Properties AMT sends after the rest, which it otherwise sends in ASCII order. */
  readonly last?: readonly string[];
}

export interface WsmanAnswer {
  /** 200, or 400 with a Sender fault (as AMT answers one), or 500 with a Receiver one. */
  readonly status: 200 | 400 | 500;
  readonly xml: string;
}

/** At most this many enumerations open at once; the oldest goes first. */
const MAX_ENUMERATIONS = 64;

const select = (instances: readonly Instance[], selectors: Readonly<Record<string, string>>): Instance | Fault => {
  const names = Object.keys(selectors);
  if (names.length === 0) return instances[0] ?? { fault: 'DestinationUnreachable', detail: 'no instance' };
  return instances.find((i) => names.every((n) => String(i[n]) === selectors[n])) ?? { fault: 'InvalidSelectors' };
};

const faulted = (r: Pick<WsmanRequest, 'messageId'>, f: Fault): WsmanAnswer => ({ status: faultStatus(f), xml: faultEnvelope(r, f) });

/** An instance as listed: its class's name and prefix in the answer. */
interface Listed {
  readonly prefix: string;
  readonly name: string;
  readonly instance: Instance;
  readonly last: readonly string[] | undefined;
}

export const createWsmanService = (model: AmtModel, classes: readonly ClassDef[]) => {
  const byUri = new Map(classes.map((c) => [classUri(c.name), c]));
  const byName = new Map(classes.map((c) => [c.name, c]));
  /** Each open enumeration: the items still to pull (rendered when it began) and their namespaces. */
  const enumerations = new Map<string, { readonly ns: readonly string[]; readonly items: string[] }>();
  let contexts = 0;

  /** Each instance a class lists, with its own class, and the namespaces to declare (g, h, ... after `first`). */
  const listed = (c: ClassDef, first: readonly string[]): { ns: string[]; items: Listed[] } => {
    const members = (c.members ?? [c.name]).map((n) => byName.get(n)!);
    const ns = [...first, ...members.map((m) => classUri(m.name))];
    const items = members.flatMap((m, k) =>
      m.instances(model).map((instance) => ({ prefix: String.fromCharCode(103 + first.length + k), name: m.name, instance, last: m.last })),
    );
    return { ns, items };
  };
  const render = (i: Listed): string => `<${i.prefix}:${i.name}>${renderProperties(i.prefix, i.instance, i.last)}</${i.prefix}:${i.name}>`;

  const handle = (r: WsmanRequest): WsmanAnswer => {
    const fail = (f: Fault): WsmanAnswer => faulted(r, f);
    /** A part of the body as an object; an empty element (`<Enumerate/>`) parses as ''. */
    const part = (name: string): Record<string, unknown> => {
      const v = r.body[name];
      return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
    };
    const c = byUri.get(r.resourceUri);
    if (!c) return fail({ fault: 'DestinationUnreachable' });
    if (model.persisted.provisioning.state !== 2 && !c.setup) return fail({ fault: 'AccessDenied', detail: 'AMT is not provisioned' });
    const uri = classUri(c.name);
    const ok = (action: string, ns: readonly string[], body: string): WsmanAnswer => ({ status: 200, xml: envelope(r, action, ns, body) });
    const call = (what: string): void => {
      model.calls.push(`${c.name}.${what}`);
    };
    const getOne = (): { ns: string[]; body: string } | Fault => {
      const { ns, items } = listed(c, []);
      const found = select(
        items.map((i) => i.instance),
        r.selectors,
      );
      return isFault(found) ? found : { ns, body: render(items.find((i) => i.instance === found)!) };
    };
    const pulled = (items: string[], max: number): { body: string; end: boolean } => {
      const taken = items.splice(0, Math.max(1, max));
      return { body: taken.join(''), end: items.length === 0 };
    };

    switch (r.action) {
      case `${TRANSFER}/Get`: {
        call('Get');
        const one = getOne();
        return isFault(one) ? fail(one) : ok(`${TRANSFER}/GetResponse`, one.ns, one.body);
      }
      case `${TRANSFER}/Put`: {
        call('Put');
        if (!c.put) return fail({ fault: 'ActionNotSupported', detail: r.action });
        const given = r.body[c.name];
        if (!given || typeof given !== 'object') return fail({ fault: 'InvalidRepresentation', detail: `no ${c.name} in the body` });
        const refused = c.put(model, given as Record<string, unknown>);
        if (refused) return fail(refused);
        model.changed();
        const one = getOne();
        return isFault(one) ? fail(one) : ok(`${TRANSFER}/PutResponse`, one.ns, one.body);
      }
      case `${ENUMERATION}/Enumerate`: {
        call('Enumerate');
        const { ns, items } = listed(c, [ENUMERATION]);
        const rendered = items.map(render);
        const context = `${(++contexts).toString(16).toUpperCase().padStart(8, '0')}-0000-0000-0000-000000000000`;
        const e = part('Enumerate');
        let optimized = '';
        let end = false;
        if ('OptimizeEnumeration' in e) {
          const p = pulled(rendered, Number(text(e['MaxElements']) || 1));
          end = p.end;
          optimized = `<c:Items>${p.body}</c:Items>${end ? '<c:EndOfSequence></c:EndOfSequence>' : ''}`;
        }
        if (!end) {
          enumerations.set(context, { ns, items: rendered });
          if (enumerations.size > MAX_ENUMERATIONS) enumerations.delete(enumerations.keys().next().value!);
        }
        return ok(
          `${ENUMERATION}/EnumerateResponse`,
          ns,
          `<g:EnumerateResponse><g:EnumerationContext>${context}</g:EnumerationContext>${optimized}</g:EnumerateResponse>`,
        );
      }
      case `${ENUMERATION}/Pull`: {
        call('Pull');
        const p = part('Pull');
        const context = text(p['EnumerationContext']);
        const open = enumerations.get(context);
        if (!open) return fail({ fault: 'InvalidEnumerationContext' });
        const { body, end } = pulled(open.items, Number(text(p['MaxElements']) || 1));
        if (end) enumerations.delete(context);
        return ok(
          `${ENUMERATION}/PullResponse`,
          open.ns,
          `<g:PullResponse><g:Items>${body}</g:Items>${end ? '<g:EndOfSequence></g:EndOfSequence>' : `<g:EnumerationContext>${context}</g:EnumerationContext>`}</g:PullResponse>`,
        );
      }
      case `${ENUMERATION}/Release`: {
        call('Release');
        const context = text(part('Release')['EnumerationContext']);
        if (!enumerations.delete(context)) return fail({ fault: 'InvalidEnumerationContext' });
        return ok(`${ENUMERATION}/ReleaseResponse`, [ENUMERATION], '');
      }
    }
    const method = r.action.startsWith(`${uri}/`) ? r.action.slice(uri.length + 1) : undefined;
    const run = method !== undefined ? c.methods?.[method] : undefined;
    if (!method || !run) return fail({ fault: 'ActionNotSupported', detail: r.action });
    call(method);
    const result = run(model, part(`${method}_INPUT`));
    if (isFault(result)) return fail(result);
    const out = `${result.out ? renderProperties('g', result.out) : ''}<g:ReturnValue>${result.returnValue}</g:ReturnValue>`;
    return ok(`${r.action}Response`, [uri], `<g:${method}_OUTPUT>${out}</g:${method}_OUTPUT>`);
  };

  return {
    /** The answer to one request's body (the caller has checked its Digest credentials). */
    answer(xml: string): WsmanAnswer {
      const r = parseRequest(xml);
      if (!r) return faulted({ messageId: '' }, { fault: 'SchemaValidationError' });
      try {
        return handle(r);
      } catch (err) {
        // A request the simulator did not foresee gets AMT's internal error, never a hung connection.
        return faulted(r, { fault: 'InternalError', detail: (err as Error).message });
      }
    },
  };
};
