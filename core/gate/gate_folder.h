// Gate folders: gate.json (kind, settings, the experts as PEFT folders by relative path and
// SHA-256 of their adapter_model.safetensors, and how the gate was made) + gate.safetensors
// (the gate's weights). A moved or changed expert is refused on load, naming it.
#pragma once

#include <filesystem>

#include <nlohmann/json_fwd.hpp>

#include "gate/gate.h"

namespace basin {

inline constexpr const char* kGateConfigFile = "gate.json";
inline constexpr const char* kGateWeightsFile = "gate.safetensors";

// Writes the folder atomically. Every expert must have been loaded from a folder (its path and
// content hash name it); throws InputError otherwise.
void save_gate(const Gate& gate, const std::filesystem::path& dir, bool overwrite = false);

// Loads the folder and its experts. Throws InputError naming the file, key or expert for
// anything missing, malformed, moved or changed.
Gate load_gate(const std::filesystem::path& dir);

nlohmann::json gate_record_to_json(const GateRecord& r);

}  // namespace basin
