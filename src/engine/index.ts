// The engine: the run state machine and the orchestrator that drives it.

export { RunMachine, isFinished, type StageState } from './run-state.js';
export type { RunEvent, Command, GatePhase, GateDecision, ReusedStage } from './events.js';
export { EventLog, fromStored, toNew } from './event-log.js';
export { Orchestrator, systemClock, type Clock, type RunListener, type JobFactory, type Notifier, type OrchestratorOptions } from './orchestrator.js';
export { LocalAgent } from './local-agent.js';
export { missingRuntime, capabilityFor, type AgentDispatcher, type EventListener } from './agents.js';
export { Workspaces, projectFiles, stageSlug } from './workspaces.js';
export { LocalJobs, baseEnvironment, NO_SECRETS, type SecretSource } from './local-jobs.js';
export { StoreLocks, localOwner, ownerAlive, type LockManager } from './locks.js';
export type { GateHost, OpenGate, DecideGate } from './gates.js';
export { createRun } from './create-run.js';
export { StoreSecrets, MissingSecretError } from './secrets.js';
export { HttpNotifier, type NotifierOptions } from './notify.js';
export { ProcessGateHost, type GateHostOptions } from './gate-host/host.js';
export { InputGates, type Prompter, type InputGatesOptions } from './gate-host/input.js';
export { CallbackServer } from './gate-host/callback-server.js';
export { acceptCallback, hashToken, newCallbackToken, CallbackTokens, type CallbackResult } from './gate-host/callbacks.js';
