std = "lua54"
max_line_length = 120
files["spec/**/*.lua"] = { std = "+busted" }
files["spec/ordering/*.lua"] = { std = "lua54" }
files["bench/**/*.lua"] = { std = "lua54" }
exclude_files = { "types/**", "build/**", "lua_modules/**", ".luarocks/**" }
