; Inno Setup script for the LoRA Studio Windows installer.
;
; Build on Windows (Inno Setup 6 installed):
;   py bootstrap.py test
;   .venv\Scripts\python scripts\build_bundle.py
;   .venv\Scripts\python scripts\build_installer.py
; build_installer.py passes /DAppVersion=<version from pyproject.toml>, the one place the
; version is written. The installer is written to dist\installer\LoRA-Studio-Setup-<version>.exe.

#ifndef AppVersion
  #error AppVersion is not defined: build with scripts\build_installer.py
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
