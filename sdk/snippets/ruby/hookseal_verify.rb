# frozen_string_literal: true

# Verify Hookseal webhooks in Ruby with nothing but the standard library (openssl).
# Copy this file into your project. Ed25519 (whpk_ keys, v1a signatures) is built in.
#
#   begin
#     HooksealVerify.verify_hookseal_v1(request.raw_post, headers, ENV.fetch("HOOKSEAL_SECRET"))
#   rescue HooksealVerify::VerificationError => e
#     head :bad_request  # e.code says why
#   end
#   HooksealVerify.parse_events(request.raw_post).each { |event| handle(event) } # batch or one

# --8<-- [start:verify]
require "json"
require "openssl"

module HooksealVerify
  TOLERANCE = 300 # seconds a signed timestamp may differ from our clock, either way
  MAX_HEADER_BYTES = 8192 # bounded work: bigger signature headers are refused unparsed
  MAX_ELEMENTS = 32
  # \A and \z, not ^ and $: those would also match at a newline inside the header.
  TIMESTAMP = /\A[0-9]{1,18}\z/.freeze
  BASE64 = %r{\A[A-Za-z0-9+/]*={0,2}\z}.freeze
  TOKEN = /\A[A-Za-z0-9!#$%&'*+.^_`|~-]+\z/.freeze # what may start an HTTP header name
  # DER prefix of an Ed25519 SubjectPublicKeyInfo: lets OpenSSL load a raw 32-byte key.
  ED25519_SPKI_PREFIX = ["302a300506032b6570032100"].pack("H*").freeze

  # The request is not a genuine, fresh delivery: answer 400 and drop it. #code is
  # missing_header, malformed_header, timestamp_too_old, timestamp_in_future or
  # signature_mismatch (or, from parse_events, invalid_payload).
  class VerificationError < StandardError
    attr_reader :code

    def initialize(code, message)
      super(message)
      @code = code
    end
  end

  # The secrets or options are wrong: a bug in your set-up, not a bad request.
  class ConfigurationError < ArgumentError
    def code = "invalid_configuration"
  end

  module_function

  # --8<-- [start:hookseal-v1]

  # Verifies a hookseal-v1 delivery (Hookseal-Signature: t=<ts>,v1=<hex>).
  # body: the raw request body exactly as received (request.raw_post), never re-serialized.
  # headers: a Hash (or anything with #each of name, value) of the request headers.
  # secrets: your whsec_ secret, several while you rotate, or whpk_ Ed25519 public keys.
  # now: the current Unix time; defaults to the system clock (set it in tests).
  def verify_hookseal_v1(body, headers, secrets, tolerance: TOLERANCE, now: nil, header_prefix: "Hookseal")
    raw_body!(body)
    hmac_keys, public_keys = parse_keys(secrets, tolerance, standard: false)
    raise ConfigurationError, "header_prefix must be a header name" unless TOKEN.match?(header_prefix.to_s)

    timestamps = []
    v1 = []
    v1a = []
    split(find_header(headers, "#{header_prefix}-Signature"), /,/).each do |element|
      # Each element splits at its first "=", no trimming; unknown keys are ignored.
      key, _, value = element.partition("=")
      case key
      when "t" then timestamps << value
      when "v1" then v1 << value
      when "v1a" then v1a << value
      end
    end
    fail!("malformed_header", "need exactly one t= element") unless timestamps.size == 1
    check_kinds(hmac_keys, v1, public_keys, v1a)
    check_timestamp(timestamps[0], tolerance, now)

    signed = timestamps[0] + "." + body.b # the timestamp text exactly as received
    hmac_keys.each do |key|
      # hexdigest is lowercase, so uppercase hex never matches, as the contract says.
      expected = OpenSSL::HMAC.hexdigest("SHA256", key, signed)
      return true if v1.any? { |value| secure_equal?(expected, value) }
    end
    return true if any_ed25519?(public_keys, v1a, signed)

    fail!("signature_mismatch", "no signature matches")
  end
  # --8<-- [end:hookseal-v1]

  # --8<-- [start:standard-webhooks]

  # Verifies a Standard Webhooks delivery (webhook-id, webhook-timestamp,
  # webhook-signature). Same inputs and errors as verify_hookseal_v1; a secret is base64
  # of at least one byte (padded or not), with or without the whsec_ prefix.
  def verify_standard_webhooks(body, headers, secrets, tolerance: TOLERANCE, now: nil)
    raw_body!(body)
    hmac_keys, public_keys = parse_keys(secrets, tolerance, standard: true)
    id = find_header(headers, "webhook-id")
    timestamp = find_header(headers, "webhook-timestamp")
    v1 = []
    v1a = []
    split(find_header(headers, "webhook-signature"), / /).each do |entry|
      version, comma, value = entry.partition(",")
      fail!("malformed_header", "an entry has no comma") if comma.empty?
      v1 << value if version == "v1"
      v1a << value if version == "v1a"
    end
    check_kinds(hmac_keys, v1, public_keys, v1a)
    check_timestamp(timestamp, tolerance, now)

    signed = id + "." + timestamp + "." + body.b
    hmac_keys.each do |key|
      expected = OpenSSL::HMAC.digest("SHA256", key, signed)
      v1.each do |value|
        received = strict_base64(value, 32) # anything else matches nothing
        return true if received && secure_equal?(expected, received)
      end
    end
    return true if any_ed25519?(public_keys, v1a, signed)

    fail!("signature_mismatch", "no signature matches")
  end
  # --8<-- [end:standard-webhooks]

  # --8<-- [start:batches]
  # The events of a VERIFIED body: a batch (a JSON array of events) or one event, as an
  # array of Hashes in the sender's order. Call it only after a verify_* method accepted
  # body, and deduplicate by each event's "id". Raises VerificationError with code
  # invalid_payload (not JSON, or not an object or an array of objects).
  def parse_events(body)
    parsed = JSON.parse(body)
    events = parsed.is_a?(Array) ? parsed : [parsed]
    fail!("invalid_payload", "the body is not an event or an array of events") unless events.all?(Hash)

    events
  rescue JSON::ParserError, SystemStackError
    fail!("invalid_payload", "the body is not JSON")
  end
  # --8<-- [end:batches]

  def raw_body!(body)
    # The classic mistake is passing params (already parsed) instead of request.raw_post.
    raise TypeError, "pass the raw body (request.raw_post), not parsed params" unless body.is_a?(String)
  end

  def parse_keys(secrets, tolerance, standard:)
    secrets = [secrets] if secrets.is_a?(String)
    unless secrets.is_a?(Array) && !secrets.empty? && tolerance.is_a?(Integer) && tolerance >= 0
      raise ConfigurationError, "need at least one secret and a tolerance >= 0"
    end

    hmac_keys = []
    public_keys = []
    secrets.each do |secret|
      if !secret.is_a?(String) || ["", "whsec_"].include?(secret)
        raise ConfigurationError, "a secret must be a non-empty string"
      end

      if secret.start_with?("whpk_")
        public_keys << ed25519_public_key(lenient_base64(secret[5..], 32))
      elsif secret.start_with?("whsk_")
        raise ConfigurationError, "whsk_ is the sender's private key: use its whpk_ key"
      elsif standard
        # Standard Webhooks keys are the base64-decoded bytes after "whsec_", of any
        # length (the specification's own libraries verify with short keys too).
        hmac_keys << lenient_base64(secret.delete_prefix("whsec_"))
      else
        # hookseal-v1 (like Stripe) keys HMAC with the whole string, prefix included.
        hmac_keys << secret.b
      end
    end
    [hmac_keys, public_keys]
  end

  def find_header(headers, name)
    found = nil
    headers.each do |key, value|
      next unless key.to_s.downcase == name.downcase

      # Two spellings of one name could hide which one the sender signed.
      fail!("malformed_header", "#{name} appears twice") unless found.nil?
      found = value.to_s.b # bytes: a header need not be valid UTF-8
    end
    fail!("missing_header", "#{name} is missing") if found.nil? || found.empty?
    found
  end

  def split(header, separator)
    # Bounded work: never parse (or let a sender make us hash for) a huge header. The
    # separator is a Regexp because split(" ") would split on any run of whitespace.
    parts = header.split(separator, MAX_ELEMENTS + 1)
    if header.bytesize > MAX_HEADER_BYTES || parts.size > MAX_ELEMENTS
      fail!("malformed_header", "signature header too large")
    end
    parts
  end

  def check_timestamp(text, tolerance, now)
    fail!("malformed_header", "timestamp is not 1-18 digits") unless TIMESTAMP.match?(text)
    now ||= Time.now.to_i
    fail!("timestamp_too_old", "timestamp too old") if now - text.to_i > tolerance
    fail!("timestamp_in_future", "timestamp in the future") if text.to_i - now > tolerance
  end

  def check_kinds(hmac_keys, v1, public_keys, v1a)
    return if (hmac_keys.any? && v1.any?) || (public_keys.any? && v1a.any?)

    fail!("malformed_header", "no signature we hold a key for")
  end

  def secure_equal?(expected, received)
    # fixed_length_secure_compare raises on a length mismatch; the length is no secret.
    expected.bytesize == received.bytesize && OpenSSL.fixed_length_secure_compare(expected, received)
  end

  # Decodes padded standard base64 of exactly size bytes, or returns nil.
  def strict_base64(text, size)
    raw = text.unpack1("m0") # strict RFC 4648: padding required, non-canonical refused
    raw.bytesize == size ? raw : nil
  rescue ArgumentError
    nil
  end

  # Decodes a configured key: standard base64, padded or not, of size bytes (or any).
  def lenient_base64(text, size = nil)
    padded = text + ("=" * (-text.length % 4))
    raise ConfigurationError, "a key is not valid base64" if text.length % 4 == 1 || !BASE64.match?(padded)

    raw = padded.unpack1("m")
    raise ConfigurationError, "a key is not valid base64" if raw.empty?
    raise ConfigurationError, "a key must decode to #{size} bytes" if size && raw.bytesize != size

    raw
  end

  def ed25519_public_key(raw)
    OpenSSL::PKey.read(ED25519_SPKI_PREFIX + raw)
  rescue OpenSSL::PKey::PKeyError
    raise ConfigurationError, "a whpk_ key is not an Ed25519 public key"
  end

  def any_ed25519?(public_keys, v1a, signed)
    v1a.any? do |value|
      signature = strict_base64(value, 64)
      signature && public_keys.any? { |key| key.verify(nil, signature, signed) }
    end
  rescue OpenSSL::PKey::PKeyError
    false
  end

  def fail!(code, message)
    raise VerificationError.new(code, message)
  end
end
# --8<-- [end:verify]
