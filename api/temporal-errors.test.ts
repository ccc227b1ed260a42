import { ServiceError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import proto from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { AppError } from '../lib/errors.js';
import { contractError } from './temporal-errors.js';

/** A gRPC error as @grpc/grpc-js reports it, with `detailTypes` in its status details. */
function grpcError(code: number, detailTypes: string[] = [], multiOperation = false): Error {
  const any = (type: string, value: Uint8Array = new Uint8Array()) => ({
    type_url: `type.googleapis.com/${type}`,
    value,
  });
  let details = detailTypes.map((type) => any(type));
  if (multiOperation) {
    const failure = proto.temporal.api.errordetails.v1.MultiOperationExecutionFailure.encode({
      statuses: [{ code, message: 'the update', details }],
    }).finish();
    details = [any('temporal.api.errordetails.v1.MultiOperationExecutionFailure', failure)];
  }
  const status = Buffer.from(proto.google.rpc.Status.encode({ code, details }).finish());
  const metadata = { get: (key: string) => (key === 'grpc-status-details-bin' ? [status] : []) };
  return Object.assign(new Error(`${code} grpc`), { code, details: 'grpc', metadata });
}

const NOT_READY = 'temporal.api.errordetails.v1.WorkflowNotReadyFailure';

describe('contractError', () => {
  it.each([
    ['UNAVAILABLE', grpcError(14)],
    [
      'UNAVAILABLE wrapped by the client',
      new ServiceError('Update-With-Start failed', { cause: grpcError(14) }),
    ],
    ['DEADLINE_EXCEEDED', grpcError(4)],
    ['RESOURCE_EXHAUSTED', grpcError(8)],
    ['a workflow not ready', grpcError(9, [NOT_READY])],
    ['a workflow not ready, in an update-with-start', grpcError(9, [NOT_READY], true)],
    [
      'an update the worker never processed',
      new WorkflowUpdateFailedError('failed', ApplicationFailure.create({ type: 'UnprocessedUpdate' })),
    ],
  ])('%s -> 503 service_unavailable with Retry-After', (_, error) => {
    const mapped = contractError(error);
    expect(mapped).toBeInstanceOf(AppError);
    expect(mapped).toMatchObject({ code: 'service_unavailable', headers: { 'Retry-After': '1' } });
  });

  it('maps a rejected update to its contract code', () => {
    const rejected = new WorkflowUpdateFailedError(
      'failed',
      ApplicationFailure.create({ type: 'order_not_cancellable', message: 'shipped' }),
    );
    expect(contractError(rejected)).toMatchObject({ code: 'order_not_cancellable', message: 'shipped' });
  });

  it.each([
    ['another FAILED_PRECONDITION', grpcError(9)],
    ['INVALID_ARGUMENT', grpcError(3)],
    ['a plain error', new Error('boom')],
  ])('leaves %s as it is (a 500)', (_, error) => {
    expect(contractError(error)).toBe(error);
  });
});
