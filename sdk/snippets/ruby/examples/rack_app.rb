# frozen_string_literal: true

# Plain Rack (Sinatra and Hanami sit on it too): read the raw body from rack.input.
require "json"
require_relative "../hookseal_verify"

WebhookApp = lambda do |env|
  body = env["rack.input"].read # the exact bytes that were signed
  # Rack names headers HTTP_HOOKSEAL_SIGNATURE; pass the verifier the real header name.
  headers = { "Hookseal-Signature" => env["HTTP_HOOKSEAL_SIGNATURE"] }.compact
  HooksealVerify.verify_hookseal_v1(body, headers, ENV.fetch("HOOKSEAL_SECRET"))
  event = JSON.parse(body)
  [200, { "content-type" => "text/plain" }, ["got #{event['type']}"]]
rescue HooksealVerify::VerificationError => e
  [400, { "content-type" => "text/plain" }, [e.code]]
end
