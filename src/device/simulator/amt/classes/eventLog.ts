/**
 * AMT_MessageLog: the event log, with the records the simulated AMT made (one per remote power
 * action), read as consoles read it: PositionToFirstRecord, then GetRecords in batches. Each record
 * is AMT's 21 bytes: the time (seconds, little-endian), device address, sensor type, event type,
 * offset, source type, severity, sensor number, entity, entity instance and 8 bytes of data.
 */
import type { LogRecord } from '../model.js';
import type { ClassDef } from '../wsmanService.js';
import { field } from './common.js';

const encodeRecord = (r: LogRecord): string => {
  const b = Buffer.alloc(21);
  b.writeUInt32LE(Math.floor(r.time.getTime() / 1000), 0);
  b[4] = 0xff; // device address: the ME itself
  b[5] = r.sensorType;
  b[6] = r.eventType;
  b[7] = r.offset;
  b[8] = 0x68; // event source: ASF 1.0 (AMT's own events)
  b[9] = 0x01; // severity: monitor
  b[10] = 0xff;
  b[11] = 0x22; // entity: BIOS
  b[12] = 0x00;
  Buffer.from(r.data.slice(0, 8)).copy(b, 13);
  return b.toString('base64');
};

export const eventLogClasses: readonly ClassDef[] = [
  {
    name: 'AMT_MessageLog',
    instances: (m) => [
      {
        Capabilities: [5, 6, 8, 7],
        CharacterSet: 10,
        CreationClassName: 'AMT_MessageLog',
        CurrentNumberOfRecords: m.log.length,
        ElementName: 'Intel(r) AMT:MessageLog 1',
        EnabledDefault: 2,
        EnabledState: 2,
        HealthState: 5,
        IsFrozen: false,
        LastChange: 0,
        LogState: 4,
        MaxLogSize: 0,
        MaxNumberOfRecords: 390,
        MaxRecordSize: 21,
        Name: 'Intel(r) AMT:MessageLog 1',
        OperationalStatus: [2],
        OverwritePolicy: 2,
        PercentageNearFull: Math.floor((m.log.length * 100) / 390),
        RequestedState: 12,
        SizeOfHeader: 0,
        SizeOfRecordHeader: 0,
        Status: 'OK',
      },
    ],
    methods: {
      PositionToFirstRecord: (m) => (m.log.length === 0 ? { returnValue: 1 } : { returnValue: 0, out: { IterationIdentifier: 1 } }),
      // Newest first, as AMT returns them; IterationIdentifier counts from 1.
      GetRecords: (m, input) => {
        const from = Number(field(input, 'IterationIdentifier') ?? 1);
        const max = Number(field(input, 'MaxReadRecords') ?? 390);
        if (!Number.isInteger(from) || from < 1 || !Number.isInteger(max) || max < 1) return { returnValue: 2 };
        const newest = [...m.log].reverse();
        const batch = newest.slice(from - 1, from - 1 + max);
        const next = from + batch.length;
        return { returnValue: 0, out: { IterationIdentifier: next, NoMoreRecords: next > newest.length, RecordArray: batch.map(encodeRecord) } };
      },
    },
  },
];
