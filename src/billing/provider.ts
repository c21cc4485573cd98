import type { BillingAccountRecord, CheckoutRecord, TransferRecord } from '../db/repositories/billing.repository';

/** What a provider said about a transfer: it paid, or it definitely did not (nothing left our balance). */
export type TransferOutcome =
  | { status: 'paid'; providerTransferId: string }
  | { status: 'failed'; reason: string };

/**
 * The provider gave no definite answer (a network error, a timeout, a 5xx, a 429). Whatever was asked
 * may or may not have happened: money is never released on this, only retried with the same
 * idempotency key, or looked up.
 */
export class ProviderUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProviderUnavailable';
  }
}

/** A signed event that does not verify. */
export class InvalidProviderSignature extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidProviderSignature';
  }
}

export interface SubscriptionState {
  subscriptionId: string;
  status: 'active' | 'canceled' | 'other';
  cancelAtPeriodEnd: boolean;
  currentPeriodEnd: string | null;
}

/** How an event names the billing account it is about. */
export type AccountRef =
  | { by: 'user'; id: string }
  | { by: 'stripe_customer_id' | 'stripe_account_id' | 'stripe_subscription_id'; id: string };

/**
 * Provider events in our own vocabulary: each adapter translates what its provider sends into these,
 * and one function in the billing service applies them, once each, for every provider.
 */
export type ProviderEventBody =
  | { kind: 'checkout_paid'; checkoutId: string; amount: number; currency: string; paymentId: string | null; subscriptionId: string | null }
  /** Completed but not paid yet (a bank debit still clearing): grants nothing. */
  | { kind: 'checkout_unpaid'; checkoutId: string; paymentStatus: string }
  | { kind: 'checkout_closed'; checkoutId: string; status: 'canceled' | 'failed' }
  | { kind: 'subscription'; account: AccountRef; subscription: SubscriptionState }
  | { kind: 'payout_account'; account: AccountRef; payoutsStatus: BillingAccountRecord['payoutsStatus']; chargesEnabled: boolean }
  /** `refundedTotal` is everything refunded on the payment so far, not this refund alone. */
  | { kind: 'refund'; paymentId: string; refundedTotal: number; currency: string }
  | { kind: 'dispute'; paymentId: string; amount: number; currency: string }
  | { kind: 'ignored' };

export type ProviderEvent = { provider: 'local' | 'stripe'; id: string; type: string } & ProviderEventBody;

/** The one seam between billing and a payment provider: `local` (embedded) or `stripe` (the SDK). */
export interface BillingProvider {
  readonly name: 'local' | 'stripe';
  checkoutUrl(checkout: CheckoutRecord, account: BillingAccountRecord, now: string): Promise<string>;
  portalUrl(account: BillingAccountRecord, now: string): Promise<string>;
  onboardingUrl(account: BillingAccountRecord, now: string): Promise<string>;
  /**
   * Sends a transfer with its id as the idempotency key, so asking twice never pays twice. Throws
   * ProviderUnavailable when the outcome is unknown.
   */
  sendTransfer(account: BillingAccountRecord, transfer: TransferRecord): Promise<TransferOutcome>;
  /** What the provider knows of a transfer we may have sent before; undefined when it never received it. */
  findTransfer(account: BillingAccountRecord, transfer: TransferRecord): Promise<TransferOutcome | undefined>;
  /** Sets the subscription to end (or not) at the end of its period, and answers with the provider's state. */
  setCancelAtPeriodEnd(account: BillingAccountRecord, cancel: boolean): Promise<SubscriptionState>;
  /** Verifies a signed inbound event and translates it; throws InvalidProviderSignature. */
  parseEvent?(rawBody: Buffer, signature: string): ProviderEvent;
}
