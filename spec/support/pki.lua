-- A throw-away PKI for the TLS specs, made with the openssl command in a fresh
-- temporary directory:
--   ca.crt     the CA that signs srv.crt and old.crt
--   other.crt  a second, unrelated CA (a server certificate it did not sign)
--   srv.crt    localhost / 127.0.0.1 (subjectAltName DNS and IP), key srv.key
--   old.crt    the same names and key, already expired
--
--   local pki = require("support.pki").make()   -- pki.dir, pki.path("ca.crt")
--   pki:remove()
local M = {}

local function sh(dir, cmd)
  local ok = os.execute(("cd %s && (%s) >/dev/null 2>&1"):format(dir, cmd))
  assert(ok == 0 or ok == true, "failed: " .. cmd)
end

local Pki = {}
Pki.__index = Pki

function Pki:path(name) return self.dir .. "/" .. name end

function Pki:remove()
  if self.dir then os.execute("rm -rf " .. self.dir) end
  self.dir = nil
end

function M.make()
  local p = io.popen("mktemp -d /tmp/ddb-pki-XXXXXX")
  local dir = p:read("*l")
  p:close()
  assert(dir and dir ~= "", "mktemp failed")
  local ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
  sh(dir, "openssl req -x509 " .. ec .. " -keyout ca.key -out ca.crt -days 2 -subj /CN=tls-spec-ca")
  sh(dir, "openssl req -x509 " .. ec .. " -keyout other.key -out other.crt -days 2 -subj /CN=other-ca")
  sh(dir, "openssl req " .. ec .. " -keyout srv.key -out srv.csr -subj /CN=localhost")
  sh(dir, "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext")
  sh(dir, "openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out srv.crt")
  sh(dir, "openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days -1 -extfile san.ext -out old.crt")
  return setmetatable({ dir = dir }, Pki)
end

return M
