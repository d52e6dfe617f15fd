# A minimal hookseal-v1 verifier adapter in Ruby, to prove the constant-time probe:
# `ruby ct_verifier.rb safe` compares with OpenSSL.fixed_length_secure_compare, `eq` with ==.
require "json"
require "openssl"
require "base64"

MODE = ARGV[0] || "safe"

def answer(req)
  return { ok: false, error: "unsupported_profile" } unless req["profile"] == "hookseal-v1"
  secrets = req["secrets"] || []
  # No v1a here: a whpk_ key answers invalid_configuration, its declaration (contract 5.1).
  if secrets.empty? || secrets.any? { |s| s == "" || s == "whsec_" || s.start_with?("whpk_") }
    return { ok: false, error: "invalid_configuration" }
  end
  name = "#{req['header_prefix'] || 'Hookseal'}-Signature".downcase
  value = (req["headers"] || {}).find { |k, _| k.downcase == name }&.last.to_s
  return { ok: false, error: "missing_header" } if value.empty?
  t = nil
  sigs = []
  value.split(",", -1).each do |el|
    k, v = el.split("=", 2)
    next if v.nil?
    t = v if k == "t"
    sigs << v if k == "v1"
  end
  return { ok: false, error: "malformed_header" } unless t&.match?(/\A[0-9]{1,18}\z/) && !sigs.empty?
  return { ok: false, error: "timestamp_too_old" } if req["now"] - t.to_i > req["tolerance"]
  return { ok: false, error: "timestamp_in_future" } if t.to_i - req["now"] > req["tolerance"]
  body = Base64.strict_decode64(req["body_b64"] || "")
  secrets.each do |secret|
    expected = OpenSSL::HMAC.hexdigest("SHA256", secret, "#{t}.#{body}".b)
    sigs.each do |sig|
      same = if MODE == "eq"
               sig == expected
             else
               sig.bytesize == 64 && OpenSSL.fixed_length_secure_compare(sig, expected)
             end
      return { ok: true } if same
    end
  end
  { ok: false, error: "signature_mismatch" }
end

$stdout.sync = true
$stdin.each_line { |line| puts JSON.generate(answer(JSON.parse(line))) }
