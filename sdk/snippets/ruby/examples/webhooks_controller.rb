# frozen_string_literal: true

# Rails: verify request.raw_post (the raw body) before using params.
# Put hookseal_verify.rb in lib/ and `require "hookseal_verify"` (e.g. in an initializer).
class WebhooksController < ActionController::API
  # RIGHT: request.raw_post is the exact bytes that were signed. Rails' request.headers is
  # keyed by Rack env names, so hand the verifier the one header it needs by its real name.
  # --8<-- [start:call]
  def create
    headers = { "Hookseal-Signature" => request.headers["Hookseal-Signature"] }.compact
    HooksealVerify.verify_hookseal_v1(request.raw_post, headers, secrets)
    event = JSON.parse(request.raw_post) # only now is the body trusted
    EventJob.perform_later(event)
    head :ok
  rescue HooksealVerify::VerificationError => e
    render plain: e.code, status: :bad_request
  end
  # --8<-- [end:call]

  # WRONG, do not copy: params were parsed from the body and to_json re-serializes them,
  # with other spacing, key order and escapes (and Rails adds "controller"/"action"), so
  # genuine deliveries are rejected.
  def create_wrong
    headers = { "Hookseal-Signature" => request.headers["Hookseal-Signature"] }.compact
    HooksealVerify.verify_hookseal_v1(params.to_unsafe_h.to_json, headers, secrets)
    head :ok
  rescue HooksealVerify::VerificationError => e
    render plain: e.code, status: :bad_request
  end

  private

  # Several secrets while you rotate: the old one keeps verifying until you drop it.
  def secrets = ENV.fetch("HOOKSEAL_SECRETS").split(",")
end
