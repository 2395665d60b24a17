import PDFDocument from 'pdfkit';
import type { InvoiceView } from './invoice-view.js';

/** Keeps text within what the PDF standard fonts encode (WinAnsi): an en dash in periods becomes a hyphen. */
function pdfText(s: string): string {
  return s.replace(/\u2013/g, '-').replace(/\u2212/g, '-');
}

/**
 * Renders an invoice as a real PDF (pdfkit, standard Helvetica, A4): the same content as the
 * hosted page, from the same `InvoiceView`. Long invoices flow onto further pages.
 */
export function renderInvoicePdf(view: InvoiceView): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'A4',
    margin: 50,
    info: { Title: view.title, Author: view.accountName, Subject: `Invoice ${view.number}`, Creator: 'Offline Stripe emulator' },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });

  const left = doc.page.margins.left;
  const width = doc.page.width - doc.page.margins.left - doc.page.margins.right;
  const col = { description: left, period: left + 210, quantity: left + 360, amount: left + 400 };
  const amountWidth = width - (col.amount - left);

  doc.font('Helvetica-Bold').fontSize(20).text('Invoice', left, doc.y);
  doc.font('Helvetica').fontSize(10).fillColor('#555555');
  doc.text(pdfText(view.accountName));
  doc.moveDown();
  doc.fillColor('#000000').fontSize(10);
  const facts: [string, string | null][] = [
    ['Invoice number', view.number],
    ['Status', view.status],
    ['Date of issue', view.created],
    ['Date due', view.dueDate],
    ['Date paid', view.paidAt],
    ['Billing period', view.period],
    ['Bill to', [view.customerName, view.customerEmail].filter(Boolean).join(', ') || null],
  ];
  for (const [label, value] of facts) {
    if (!value) continue;
    doc.font('Helvetica-Bold').text(`${label}: `, { continued: true }).font('Helvetica').text(pdfText(value));
  }
  doc.moveDown(1.5);

  const row = (cells: { description: string; period: string; quantity: string; amount: string }, bold = false): void => {
    if (doc.y > doc.page.height - doc.page.margins.bottom - 40) doc.addPage();
    const y = doc.y;
    doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(10);
    doc.text(pdfText(cells.description), col.description, y, { width: col.period - col.description - 10 });
    const descBottom = doc.y;
    doc.text(pdfText(cells.period), col.period, y, { width: col.quantity - col.period - 10 });
    doc.text(cells.quantity, col.quantity, y, { width: col.amount - col.quantity - 10, align: 'right' });
    doc.text(pdfText(cells.amount), col.amount, y, { width: amountWidth, align: 'right' });
    doc.y = Math.max(descBottom, doc.y) + 4;
    doc.x = left;
  };
  row({ description: 'Description', period: 'Period', quantity: 'Qty', amount: 'Amount' }, true);
  doc.moveTo(left, doc.y).lineTo(left + width, doc.y).strokeColor('#cccccc').stroke();
  doc.y += 4;
  for (const line of view.lines) row(line);
  doc.moveTo(left, doc.y).lineTo(left + width, doc.y).strokeColor('#cccccc').stroke();
  doc.y += 6;
  for (const t of view.totals) row({ description: '', period: t.label, quantity: '', amount: t.amount }, t.strong);

  doc.moveDown(2);
  doc.font('Helvetica').fontSize(8).fillColor('#777777').text('Test mode - issued by the offline Stripe emulator.', left, doc.y, { width });
  doc.end();
  return done;
}
