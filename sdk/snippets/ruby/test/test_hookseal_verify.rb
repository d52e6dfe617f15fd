# frozen_string_literal: true

# Native test of the Ruby snippet (minitest): every case of the shared vectors file
# (sdk/vectors/vectors.json, or $HOOKSEAL_VECTORS) through the adapter's request handling,
# plus the API a customer uses. A missing vectors file fails: it is never skipped.
require "minitest/autorun"
require "json"
require "openssl"
load File.expand_path("../adapter", __dir__) # defines HooksealAdapter without running it

class TestHooksealVerify < Minitest::Test
  VECTORS = ENV.fetch("HOOKSEAL_VECTORS", File.expand_path("../../../vectors/vectors.json", __dir__))
  SECRET = "whsec_#{["\x07" * 32].pack('m0')}"
  BODY = '{"id":"evt_1","type":"invoice.paid"}'

  def test_every_shared_vector
    cases = JSON.parse(File.read(VECTORS)).fetch("testGroups").flat_map { |group| group.fetch("tests") }
    refute_empty cases
    failures = cases.filter_map do |c|
      got = HooksealAdapter.answer(c.fetch("request"))
      want = c.fetch("expected")
      next if got[:ok] == want["ok"] && (got[:ok] || got[:error] == want["error"])

      "tcId #{c['tcId']} (#{c['comment']}): got #{got}"
    end
    assert_empty failures
  end

  def signature(timestamp, *secrets)
    (["t=#{timestamp}"] + secrets.map { |s| "v1=#{OpenSSL::HMAC.hexdigest('SHA256', s, "#{timestamp}.#{BODY}")}" }).join(",")
  end

  def test_a_batch_verifies_then_parses_to_its_events
    batch = '[{"id":"evt_1","type":"invoice.paid"},{"id":"evt_2","type":"invoice.paid"}]'
    digest = OpenSSL::HMAC.digest("SHA256", SECRET[6..].unpack1("m"), "bat_1.9.#{batch}")
    headers = { "webhook-id" => "bat_1", "webhook-timestamp" => "9", "webhook-signature" => "v1,#{[digest].pack('m0')}" }
    assert HooksealVerify.verify_standard_webhooks(batch, headers, SECRET, now: 9)
    assert_equal %w[evt_1 evt_2], HooksealVerify.parse_events(batch).map { |e| e["id"] }
    assert_equal [JSON.parse(BODY)], HooksealVerify.parse_events(BODY)
    assert_equal [], HooksealVerify.parse_events("[]")
    ['[{"id":"evt_1"},2]', '"x"', "null", "not json", "[[1]]", "[" * 100_000].each do |bad|
      error = assert_raises(HooksealVerify::VerificationError) { HooksealVerify.parse_events(bad) }
      assert_equal "invalid_payload", error.code
    end
  end

  def test_clock_is_settable_and_defaults_to_system_clock
    assert HooksealVerify.verify_hookseal_v1(BODY, { "Hookseal-Signature" => signature(Time.now.to_i, SECRET) }, SECRET)
    error = assert_raises(HooksealVerify::VerificationError) do
      HooksealVerify.verify_hookseal_v1(BODY, { "Hookseal-Signature" => signature(1000, SECRET) }, SECRET)
    end
    assert_equal "timestamp_too_old", error.code
    assert HooksealVerify.verify_hookseal_v1(BODY, { "hookseal-signature" => signature(1000, SECRET) }, SECRET, now: 1100)
  end

  def test_several_secrets_and_none
    other = "whsec_#{['0123456789abcdef0123456789abcdef'].pack('m0')}"
    assert HooksealVerify.verify_hookseal_v1(BODY, { "Hookseal-Signature" => signature(5, other) }, [SECRET, other], now: 5)
    assert_raises(HooksealVerify::ConfigurationError) { HooksealVerify.verify_hookseal_v1(BODY, {}, [], now: 5) }
  end

  def test_reserialized_body_does_not_verify
    headers = { "Hookseal-Signature" => signature(5, SECRET) }
    assert_raises(TypeError) { HooksealVerify.verify_hookseal_v1(JSON.parse(BODY), headers, SECRET, now: 5) }
    error = assert_raises(HooksealVerify::VerificationError) do
      HooksealVerify.verify_hookseal_v1(JSON.pretty_generate(JSON.parse(BODY)), headers, SECRET, now: 5)
    end
    assert_equal "signature_mismatch", error.code
  end

  def test_openssl_made_ed25519_signature_in_both_profiles
    key = OpenSSL::PKey.generate_key("ED25519")
    whpk = "whpk_#{[key.public_to_der[-32..]].pack('m0')}"
    v1a = [key.sign(nil, "7.#{BODY}")].pack("m0")
    assert HooksealVerify.verify_hookseal_v1(BODY, { "Hookseal-Signature" => "t=7,v1a=#{v1a}" }, whpk, now: 7)
    v1a = [key.sign(nil, "msg_1.7.#{BODY}")].pack("m0")
    headers = { "webhook-id" => "msg_1", "webhook-timestamp" => "7", "webhook-signature" => "v1a,#{v1a}" }
    assert HooksealVerify.verify_standard_webhooks(BODY, headers, [whpk], now: 7)
  end

  def test_rack_example_verifies_the_raw_body
    ENV["HOOKSEAL_SECRET"] = SECRET
    require "stringio"
    load File.expand_path("../examples/rack_app.rb", __dir__)
    header = signature(Time.now.to_i, SECRET)
    ok = WebhookApp.call("rack.input" => StringIO.new(BODY), "HTTP_HOOKSEAL_SIGNATURE" => header)
    assert_equal [200, ["got invoice.paid"]], [ok[0], ok[2]]
    tampered = WebhookApp.call("rack.input" => StringIO.new("#{BODY} "), "HTTP_HOOKSEAL_SIGNATURE" => header)
    assert_equal [400, ["signature_mismatch"]], [tampered[0], tampered[2]]
  end

  def test_garbage_never_crashes
    ["null", "[]", '{"secrets":[1],"headers":{}}', '{"secrets":["s"],"headers":{"a":1}}', '{"profile":"x"}'].each do |line|
      refute HooksealAdapter.answer(JSON.parse(line))[:ok]
    end
  end
end
