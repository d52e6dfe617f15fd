# Wrap OpenSSL's constant-time comparisons and log each call
# (see hookseal_conformance._preload).
if ENV["HOOKSEAL_CT_LOG"] && !ENV["HOOKSEAL_CT_LOG"].empty?
  require "openssl"

  module HooksealCtProbe
    def self.write(line)
      File.open(ENV["HOOKSEAL_CT_LOG"], "a") { |f| f.write(line) }
    rescue StandardError
      nil
    end

    def fixed_length_secure_compare(a, b)
      HooksealCtProbe.write("call ruby #{a.to_s.bytesize} #{b.to_s.bytesize}\n")
      super
    end

    def secure_compare(a, b)
      HooksealCtProbe.write("call ruby #{a.to_s.bytesize} #{b.to_s.bytesize}\n")
      super
    end
  end

  OpenSSL.singleton_class.prepend(HooksealCtProbe)
  HooksealCtProbe.write("loaded ruby #{Process.pid}\n")
end
