; Inno Setup script for the LoRA Studio Windows installer.
;
; Build on Windows (Inno Setup 6 installed, ISCC.exe on PATH):
;   py bootstrap.py test
;   .venv\Scripts\python -m pip install -e .[build]
;   .venv\Scripts\python scripts\build_bundle.py
;   ISCC /DAppVersion=0.1.0 installer\lora-studio.iss
; The installer is written to dist\installer\LoRA-Studio-Setup-<version>.exe.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define BundleDir "..\dist\LoRA-Studio-" + AppVersion

[Setup]
AppId={{7C1F3D64-2B7E-4C4B-9E55-0F3A1B7D5E21}
AppName=LoRA Studio
AppVersion={#AppVersion}
AppPublisher=LoRA Studio
DefaultDirName={autopf}\LoRA Studio
DefaultGroupName=LoRA Studio
UninstallDisplayIcon={app}\LoRA Studio.exe
OutputDir=..\dist\installer
OutputBaseFilename=LoRA-Studio-Setup-{#AppVersion}
SetupIconFile=..\resources\icon.ico
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
PrivilegesRequiredOverridesAllowed=dialog

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\LoRA Studio"; Filename: "{app}\LoRA Studio.exe"
Name: "{group}\Uninstall LoRA Studio"; Filename: "{uninstallexe}"
Name: "{autodesktop}\LoRA Studio"; Filename: "{app}\LoRA Studio.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\LoRA Studio.exe"; Description: "{cm:LaunchProgram,LoRA Studio}"; Flags: nowait postinstall skipifsilent

; The library (database and training files) lives in the user's data folder and is kept on
; uninstall, so reinstalling never loses work.
