// Highlights the current section in the left menu (Netscape 3 and MSIE 4 era).
function menuOver(cell) {
  if (document.all) { cell.style.backgroundColor = '#FFCC99'; }
}
