-- personalize.lua's calls, and the status and body of every answer that is not 2xx on stderr
-- (admin-under-load.sh counts them). Env: as personalize.lua, plus TAILOR_LOAD_DIR (this directory).
dofile((os.getenv("TAILOR_LOAD_DIR") or "benchmark/load") .. "/personalize.lua")

function response(status, headers, body)
  if status >= 300 then io.stderr:write("STATUS " .. status .. " " .. (body or "") .. "\n") end
end
