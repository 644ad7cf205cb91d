// A status as a shape and a word, coloured as well: state is never shown by colour alone.

import type { ReactNode } from 'react';

interface Look {
  readonly label: string;
  readonly tone: 'ok' | 'bad' | 'warn' | 'busy' | 'idle' | 'wait';
  readonly icon: ReactNode;
}

const check = (
  <path
    d="M3.5 8.5l3 3 6-7"
    fill="none"
    stroke="currentColor"
    strokeWidth="2"
    strokeLinecap="round"
    strokeLinejoin="round"
  />
);
const cross = (
  <path
    d="M4 4l8 8M12 4l-8 8"
    fill="none"
    stroke="currentColor"
    strokeWidth="2"
    strokeLinecap="round"
  />
);
const ring = <circle cx="8" cy="8" r="5" fill="none" stroke="currentColor" strokeWidth="2" />;
const spinner = (
  <g className="spin">
    <circle
      cx="8"
      cy="8"
      r="5"
      fill="none"
      stroke="currentColor"
      strokeOpacity="0.3"
      strokeWidth="2"
    />
    <path
      d="M8 3a5 5 0 0 1 5 5"
      fill="none"
      stroke="currentColor"
      strokeWidth="2"
      strokeLinecap="round"
    />
  </g>
);
const pause = (
  <g fill="currentColor">
    <rect x="4" y="3" width="3" height="10" rx="1" />
    <rect x="9" y="3" width="3" height="10" rx="1" />
  </g>
);
const clock = (
  <g fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round">
    <circle cx="8" cy="8" r="5.5" />
    <path d="M8 5v3.2l2 1.3" />
  </g>
);
const skip = (
  <path
    d="M3 11c1-4 6-6 9-3M12 4v4H8"
    fill="none"
    stroke="currentColor"
    strokeWidth="1.8"
    strokeLinecap="round"
    strokeLinejoin="round"
  />
);
const ban = (
  <g fill="none" stroke="currentColor" strokeWidth="1.8">
    <circle cx="8" cy="8" r="5.5" />
    <path d="M4.2 11.8l7.6-7.6" />
  </g>
);
const warn = (
  <g>
    <path
      d="M8 2l6.5 11.5h-13z"
      fill="none"
      stroke="currentColor"
      strokeWidth="1.6"
      strokeLinejoin="round"
    />
    <path d="M8 6.5v3.2" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" />
    <circle cx="8" cy="11.6" r="0.9" fill="currentColor" />
  </g>
);
const hourglass = (
  <path
    d="M4.5 2.5h7M4.5 13.5h7M5 3c0 3 6 3 6 5s-6 2-6 5M11 3c0 3-6 3-6 5s6 2 6 5"
    fill="none"
    stroke="currentColor"
    strokeWidth="1.5"
    strokeLinecap="round"
  />
);
const bolt = <path d="M9 1.5L4 9h4l-1 5.5L12 7H8z" fill="currentColor" />;
const dot = <circle cx="8" cy="8" r="3" fill="currentColor" />;

const LOOKS: Record<string, Look> = {
  succeeded: { label: 'succeeded', tone: 'ok', icon: check },
  approved: { label: 'approved', tone: 'ok', icon: check },
  passed: { label: 'passed', tone: 'ok', icon: check },
  failed: { label: 'failed', tone: 'bad', icon: cross },
  rejected: { label: 'rejected', tone: 'bad', icon: cross },
  invalid: { label: 'invalid', tone: 'bad', icon: warn },
  timed_out: { label: 'timed out', tone: 'bad', icon: hourglass },
  unstable: { label: 'unstable', tone: 'warn', icon: warn },
  interrupted: { label: 'interrupted', tone: 'warn', icon: bolt },
  running: { label: 'running', tone: 'busy', icon: spinner },
  busy: { label: 'busy', tone: 'busy', icon: spinner },
  queued: { label: 'queued', tone: 'idle', icon: clock },
  pending: { label: 'pending', tone: 'idle', icon: ring },
  idle: { label: 'idle', tone: 'ok', icon: dot },
  offline: { label: 'offline', tone: 'idle', icon: ban },
  waiting: { label: 'waiting', tone: 'wait', icon: pause },
  skipped: { label: 'skipped', tone: 'idle', icon: skip },
  cancelled: { label: 'cancelled', tone: 'idle', icon: ban },
};

export function statusLook(status: string): Look {
  return LOOKS[status] ?? { label: status.replace(/_/g, ' '), tone: 'idle', icon: ring };
}

export function StatusIcon({ status, size = 16 }: { status: string; size?: number }) {
  const look = statusLook(status);
  return (
    <svg
      className={`status-icon tone-${look.tone}`}
      width={size}
      height={size}
      viewBox="0 0 16 16"
      aria-hidden="true"
      focusable="false"
    >
      {look.icon}
    </svg>
  );
}

/** The icon and the word, e.g. in tables and headers. */
export function Status({ status, label }: { status: string; label?: string }) {
  const look = statusLook(status);
  return (
    <span className={`status tone-${look.tone}`} data-status={status}>
      <StatusIcon status={status} />
      <span>{label ?? look.label}</span>
    </span>
  );
}

export const FINISHED = new Set(['succeeded', 'failed', 'cancelled', 'invalid']);
export const ACTIVE = new Set(['queued', 'running', 'waiting']);
export const STAGE_DONE = new Set([
  'succeeded',
  'failed',
  'unstable',
  'cancelled',
  'timed_out',
  'skipped',
]);
