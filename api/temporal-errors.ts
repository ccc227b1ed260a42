import { Connection, isGrpcServiceError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import proto from '@temporalio/proto';
import { AppError, findCause, isErrorCode } from '../lib/errors.js';

/** A 503 with a hint to retry in a second: `what` is the part of the workflow service that is away. */
export function retryShortly(what: string, cause?: unknown): AppError {
  return new AppError('service_unavailable', `${what}; retry shortly`, {
    cause,
    headers: { 'Retry-After': '1' },
  });
}

/** 503: the workflow service (or the API's way to it) is away for now. */
export const unavailableError = (cause?: unknown) =>
  retryShortly('the workflow service is temporarily unavailable', cause);
const notReady = (cause: unknown) =>
  retryShortly('the workflow is not ready to take this request yet', cause);

/**
 * Maps a Temporal client error to the contract: a rejected update to its code; an outage, or a
 * workflow that cannot take the call yet, to 503 with `Retry-After`. The client wraps gRPC errors
 * (a `ServiceError` whose cause is the gRPC error), so the whole cause chain is looked at.
 */
export function contractError(error: unknown): unknown {
  if (error instanceof WorkflowUpdateFailedError) {
    const cause = error.cause;
    if (cause instanceof ApplicationFailure && isErrorCode(cause.type)) {
      return new AppError(cause.type, cause.message, { cause: error });
    }
    if (cause instanceof ApplicationFailure && cause.type && RETRYABLE_UPDATE_FAILURES.has(cause.type)) {
      return notReady(error);
    }
  }
  const grpc = findCause(error, isGrpcServiceError, 5);
  if (grpc && TRANSIENT_CODES.has(grpc.code)) return unavailableError(error);
  if (grpc && isWorkflowNotReady(grpc)) return notReady(error);
  return error;
}

/**
 * gRPC UNAVAILABLE and DEADLINE_EXCEEDED (Temporal cannot be reached right now, or an update was
 * aborted by the server) and RESOURCE_EXHAUSTED (too many calls in flight, on the server or on
 * one workflow).
 */
const TRANSIENT_CODES = new Set<number>([14, 4, 8]);
const FAILED_PRECONDITION = 9;

/**
 * Failures the server itself gives an update that the workflow never answered: the worker did not
 * process it, or the run closed (terminated, failed) before completing it. A new call reaches a
 * workflow that answers, since every move is idempotent and a closed lifecycle is started again.
 */
const RETRYABLE_UPDATE_FAILURES = new Set(['UnprocessedUpdate', 'AcceptedUpdateCompletedWorkflow']);

/** What is read of a gRPC error (`@grpc/grpc-js`'s `ServiceError`). */
interface GrpcServiceError {
  code: number;
  metadata: { get(key: string): unknown[] };
}

/**
 * FAILED_PRECONDITION with `WorkflowNotReadyFailure`: the workflow's task is failing or has not run
 * yet (a worker restarting, a workflow still being started), so it cannot take an update now. In
 * an update-with-start the detail sits inside the `MultiOperationExecutionFailure` of the call.
 */
function isWorkflowNotReady(error: GrpcServiceError): boolean {
  if (error.code !== FAILED_PRECONDITION) return false;
  const raw = error.metadata.get('grpc-status-details-bin')[0];
  if (!(raw instanceof Uint8Array)) return false;
  try {
    const typesOf = (details: Array<{ type_url?: string | null; value?: Uint8Array | null }>) =>
      details.flatMap((detail): string[] => {
        const type = detail.type_url?.replace(/^.*\//, '') ?? '';
        if (type !== MULTI_OPERATION_FAILURE || !detail.value) return [type];
        return MultiOperationExecutionFailure.decode(detail.value).statuses.flatMap((status) =>
          typesOf(status.details ?? []),
        );
      });
    return typesOf(proto.google.rpc.Status.decode(raw).details).includes(WORKFLOW_NOT_READY);
  } catch {
    return false;
  }
}
const MULTI_OPERATION_FAILURE = 'temporal.api.errordetails.v1.MultiOperationExecutionFailure';
const WORKFLOW_NOT_READY = 'temporal.api.errordetails.v1.WorkflowNotReadyFailure';
// A CommonJS package: Node's ESM loader sees only its default export.
const { MultiOperationExecutionFailure } = proto.temporal.api.errordetails.v1;

/** How long the API waits to learn whether Temporal answers at all before it calls it. */
const REACHABLE_WITHIN_MS = 1_000;

/** Tells, fast, whether the workflow service answers at all. */
export interface TemporalProbe {
  /** Resolves when the service answered a trivial call in time; 503 `service_unavailable` otherwise. */
  check(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A probe on its own connection without the SDK's retry interceptor: a refused connection is
 * known at once and no retry is left pending. Calls to an unreachable server otherwise wait out
 * the SDK's retries (many seconds); the client's own connection reconnects by itself, so the
 * first request after the server returns goes through.
 */
export function createTemporalProbe(address: string): TemporalProbe {
  const connection = Connection.lazy({ address, interceptors: [], connectTimeout: REACHABLE_WITHIN_MS });
  return {
    async check() {
      try {
        await connection.withDeadline(Date.now() + REACHABLE_WITHIN_MS, () =>
          connection.workflowService.getSystemInfo({}),
        );
      } catch (error) {
        throw unavailableError(error);
      }
    },
    close: () => connection.close(),
  };
}
