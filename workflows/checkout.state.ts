import { ApplicationFailure, log, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import {
  type CheckoutJson,
  type CheckoutRecord,
  type CheckoutStatus,
  checkoutJson,
  isFinalStatus,
} from '../lib/checkout.js';
import { DEFAULT_CURRENCY } from '../lib/money.js';
import { CheckoutStatusKey, FailureCodeKey, OrderIdKey, TotalCentsKey } from '../lib/search-attributes.js';
import type { CancelRequest, CheckoutInput, PaymentConfirmation } from './checkout.contract.js';

/**
 * What the checkout saga knows, kept in memory and mirrored to the Web UI (search attributes,
 * current details) at every transition. Plain state and rules, no orchestration.
 */
export class CheckoutState {
  #record: CheckoutRecord;
  #opened = false;
  #orderStarted = false;
  #cancel: CancelRequest | undefined;
  #confirmation: PaymentConfirmation | undefined;

  constructor(input: CheckoutInput, startedAt: Date) {
    this.#record = {
      id: input.checkoutId,
      userId: input.userId,
      status: 'INITIATED',
      lines: [],
      totalCents: 0,
      currency: DEFAULT_CURRENCY,
      shippingAddress: input.shippingAddress ?? null,
      orderId: null,
      reservationExpiresAt: null,
      failure: null,
      createdAt: startedAt.toISOString(),
      updatedAt: startedAt.toISOString(),
    };
  }

  json(): CheckoutJson {
    return checkoutJson(this.#record);
  }

  get status(): CheckoutStatus {
    return this.#record.status;
  }

  get record(): CheckoutRecord {
    return this.#record;
  }

  /** The snapshot step has stored the checkout. */
  get isRecorded(): boolean {
    return this.#opened;
  }

  get isFinal(): boolean {
    return isFinalStatus(this.#record.status);
  }

  /** The API can answer: the checkout ended, or waits for the customer's 3-D Secure confirmation. */
  get hasOutcome(): boolean {
    return this.isFinal || this.#record.status === 'PAYMENT_PENDING';
  }

  get cancelRequested(): CancelRequest | undefined {
    return this.#cancel;
  }

  get confirmation(): PaymentConfirmation | undefined {
    return this.#confirmation;
  }

  /** Why a cancel is refused now, or undefined when it is allowed. */
  cancelRefusal(): string | undefined {
    if (this.isFinal) return `the checkout is already ${this.#record.status}`;
    if (this.#orderStarted) return 'the order is already being created';
    return undefined;
  }

  requestCancel(request: CancelRequest): void {
    this.#cancel ??= request;
  }

  /** Throws the cancellation as a failure if one was asked for, at a point where it can still apply. */
  throwIfCancelled(): void {
    if (this.#cancel) {
      throw ApplicationFailure.nonRetryable(
        this.#cancel.reason ? `cancelled: ${this.#cancel.reason}` : 'the checkout was cancelled',
        'checkout_cancelled',
      );
    }
  }

  /** Why a confirmation is ignored now, or undefined when it is taken. */
  confirmationRefusal(): string | undefined {
    if (this.isFinal) return `the checkout is already ${this.#record.status}`;
    if (this.#confirmation) return 'a confirmation was already received';
    return undefined;
  }

  confirm(confirmation: PaymentConfirmation): void {
    this.#confirmation ??= confirmation;
  }

  /** The record as the snapshot step stored it (possibly already FAILED). */
  recorded(record: CheckoutRecord): void {
    this.#opened = true;
    log.info('checkout recorded', { checkoutId: record.id, userId: record.userId, status: record.status });
    upsertSearchAttributes([{ key: TotalCentsKey, value: record.totalCents }]);
    if (isFinalStatus(record.status)) this.ended(record);
    else this.update(record, 'Cart snapshot priced');
  }

  update(record: CheckoutRecord, details: string): void {
    this.#record = record;
    this.#mirror(record.status, details);
  }

  /** Keeps the in-memory status and the UI in step when the stored record was not re-read. */
  moveTo(status: CheckoutStatus, details: string): void {
    this.#record = { ...this.#record, status };
    this.#mirror(status, details);
  }

  beginOrder(): void {
    this.#orderStarted = true;
    setCurrentDetails('Creating the order');
  }

  orderCreated(orderId: string): void {
    this.#record = { ...this.#record, orderId };
    upsertSearchAttributes([{ key: OrderIdKey, value: orderId }]);
  }

  ended(record: CheckoutRecord): void {
    this.#record = record;
    // The workflow logger adds workflowId, runId and the task queue; these tie the line to the shop.
    log.info('checkout ended', {
      checkoutId: record.id,
      userId: record.userId,
      status: record.status,
      failureCode: record.failure?.code ?? null,
      orderId: record.orderId,
      totalCents: record.totalCents,
    });
    if (record.failure) upsertSearchAttributes([{ key: FailureCodeKey, value: record.failure.code }]);
    this.#mirror(
      record.status,
      record.failure ? `${record.status}: ${record.failure.code} (${record.failure.message})` : record.status,
    );
  }

  #mirror(status: CheckoutStatus, details: string): void {
    upsertSearchAttributes([{ key: CheckoutStatusKey, value: status }]);
    setCurrentDetails(details);
  }
}
